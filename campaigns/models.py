"""Segments, campaigns with variants and slots, deliveries and tracking counters."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import AGE_BANDS, Gender, Purpose
from catalog.models import ItemKind

AGE_BAND_CHOICES = [(label, label) for _, _, label in AGE_BANDS]


class Match(models.TextChoices):
    ALL = "all", "all rules"
    ANY = "any", "any rule"


class Segment(models.Model):
    """A named audience: users matching all or any of its rules."""

    name = models.CharField(max_length=100, unique=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    AGE_BAND = "age_band", "age band is"
    GENDER = "gender", "gender is"
    OCCUPATION = "occupation", "occupation is"
    POSTCODE_PREFIX = "postcode_prefix", "postcode starts with"
    CATEGORY_INTERACTION = (
        "category_interaction",
        "interacted with category in the last N days",
    )
    PURCHASE_COUNT = "purchase_count", "purchased or enrolled at least N times"
    INACTIVE = "inactive", "no interaction in the last N days"
    CONSENT = "consent", "has granted consent for"


# Rule kinds that need a text value, and those that need a number N.
VALUE_RULES = {
    RuleKind.AGE_BAND,
    RuleKind.GENDER,
    RuleKind.OCCUPATION,
    RuleKind.POSTCODE_PREFIX,
    RuleKind.CATEGORY_INTERACTION,
    RuleKind.CONSENT,
}
NUMBER_RULES = {
    RuleKind.CATEGORY_INTERACTION,
    RuleKind.PURCHASE_COUNT,
    RuleKind.INACTIVE,
}


class SegmentRule(models.Model):
    """One condition on a profile, on behaviour or on consent.

    value is the age band, gender code, occupation, postcode prefix, category
    slug or consent purpose; number is N days or N purchases.
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    value = models.CharField(max_length=100, blank=True, default="")
    number = models.PositiveIntegerField(null=True, blank=True)
    negate = models.BooleanField(default=False, help_text="Match users who fail it.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        label = RuleKind(self.kind).label if self.kind in RuleKind.values else self.kind
        prefix = "not " if self.negate else ""
        return f"{prefix}{label} {self.value} {self.number or ''}".strip()

    def clean(self):
        errors = rule_errors(self.kind, self.value, self.number)
        if errors:
            raise ValidationError(errors)


def rule_errors(kind: str, value: str, number: int | None) -> dict[str, str]:
    """Return the field errors of a rule, keyed by field name."""
    errors: dict[str, str] = {}
    if kind not in RuleKind.values:
        return {"kind": f"Unknown rule kind {kind!r}: use one of {RuleKind.values}."}
    if kind in VALUE_RULES and not value:
        errors["value"] = f"A {RuleKind(kind).label!r} rule needs a value."
    if kind in NUMBER_RULES and not number:
        errors["number"] = f"A {RuleKind(kind).label!r} rule needs N of at least 1."
    allowed = {
        RuleKind.AGE_BAND: [label for label, _ in AGE_BAND_CHOICES],
        RuleKind.GENDER: [code for code in Gender.values if code],
        RuleKind.CONSENT: Purpose.values,
    }.get(kind)
    if allowed and value and value not in allowed:
        errors["value"] = f"{value!r} is not valid here: use one of {allowed}."
    return errors


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    PAGE = "page", "personalized page"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    SCHEDULED = "scheduled", "scheduled"
    SENDING = "sending", "sending"
    SENT = "sent", "sent"
    PAUSED = "paused", "paused"
    CANCELLED = "cancelled", "cancelled"


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(
        null=True, blank=True, help_text="Launch time; empty launches at once."
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(50)],
        help_text="Share of the segment that receives nothing, for measuring uplift.",
    )
    conversion_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1)],
        help_text="Days after sending in which an interaction counts as conversion.",
    )
    from_email = models.CharField(
        max_length=200, blank=True, default="", help_text="Empty uses the default."
    )
    launched_at = models.DateTimeField(null=True, blank=True)
    # Set once the delivery rows exist, so that resuming adds no new users.
    audience_built_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ContentSlot(models.Model):
    """A block of N recommended items, such as "3 courses for you"."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="slots"
    )
    key = models.SlugField(
        max_length=50, help_text="Name of the slot in templates: slots.<key>."
    )
    heading = models.CharField(max_length=200, blank=True, default="")
    size = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    kind = models.CharField(max_length=16, choices=ItemKind.choices, blank=True)
    category = models.SlugField(max_length=100, blank=True, default="")
    exclude_purchased = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "key"], name="campaign_slot_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.size} {self.kind or 'items'})"


class Variant(models.Model):
    """One version of the message; the weights split the non-holdout users."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="variants"
    )
    name = models.CharField(max_length=50, default="A")
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Relative share."
    )
    subject = models.CharField(max_length=255, help_text="A Django template.")
    html_body = models.TextField(help_text="A Django template; CSS is inlined.")
    text_body = models.TextField(help_text="A Django template for the text part.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="campaign_variant_name_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.name}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "claimed by a worker"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    SKIPPED = "skipped", "skipped: no consent"
    HOLDOUT = "holdout", "holdout"
    CANCELLED = "cancelled", "cancelled"


class Delivery(models.Model):
    """One campaign to one recipient; its uniqueness stops a second send.

    user is cleared when the user is erased, keeping the aggregate counts.
    item_ids lists the recommended items, for holdout rows too, so that
    conversions compare like with like.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="campaign_deliveries",
    )
    variant = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    item_ids = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    # Random value of the batch that claimed the row, so that a worker
    # reads back exactly the rows its atomic update moved to "sending".
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "user"], name="delivery_campaign_user_unique"
            )
        ]
        indexes = [models.Index(fields=["campaign", "status"])]

    def __str__(self) -> str:
        return f"{self.campaign_id} to {self.user_id}: {self.status}"


class TrackingEvent(models.TextChoices):
    IMPRESSION = "impression", "impression"
    OPEN = "open", "open"
    CLICK = "click", "click"


class TrackingCounter(models.Model):
    """Events of users without analytics consent, counted per day and nothing more.

    campaign is empty for clicks on the for-you page.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, related_name="+"
    )
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, null=True)
    day = models.DateField()
    event = models.CharField(max_length=16, choices=TrackingEvent.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        # Rows without a campaign are not kept unique by databases that treat
        # NULLs as distinct; the reports sum the rows, so a duplicate is harmless.
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "variant", "day", "event"],
                name="tracking_counter_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.variant_id} {self.day} {self.event}"
