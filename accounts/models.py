from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person Attune stores: a customer, a subscriber or a staff member."""

    # Identifier in the system the user was imported from, such as
    # "movielens:196"; empty for users who signed up here.
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)


class Gender(models.TextChoices):
    FEMALE = "F", "female"
    MALE = "M", "male"
    OTHER = "O", "other"
    UNKNOWN = "", "not given"


class Profile(models.Model):
    """Demographics we were given plus behaviour features built from events."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(
        max_length=1, choices=Gender.choices, blank=True, default=""
    )
    occupation = models.CharField(max_length=64, blank=True, default="")
    postcode = models.CharField(max_length=16, blank=True, default="")
    # Written by the profile-building task: counts, mean rating, last
    # activity and category affinities. Empty until that task first runs.
    features = models.JSONField(default=dict, blank=True)
    features_updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def age_band(self) -> str:
        return age_band(self.age)


AGE_BANDS = ((0, 17, "under 18"), (18, 24, "18-24"), (25, 34, "25-34"))
AGE_BANDS += ((35, 44, "35-44"), (45, 54, "45-54"), (55, 200, "55+"))


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "unknown"


class Purpose(models.TextChoices):
    PERSONALIZATION = "personalization", "personalization and profiling"
    EMAIL = "email", "e-mail marketing"
    ANALYTICS = "analytics", "open and click analytics"


class ConsentSource(models.TextChoices):
    SIGNUP = "signup", "sign-up form"
    PREFERENCES = "preferences", "preference page"
    API = "api", "API"
    IMPORT = "import", "import"
    UNSUBSCRIBE = "unsubscribe", "unsubscribe link"
    STAFF = "staff", "staff"


class ConsentEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Consent events are append-only and cannot be updated.")

    def delete(self):
        raise TypeError("Consent events are append-only and cannot be deleted.")


class ConsentEvent(models.Model):
    """One grant or withdrawal; the current state is the latest per purpose."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="consent_events",
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    granted = models.BooleanField()
    policy_version = models.CharField(max_length=32)
    source = models.CharField(max_length=32, choices=ConsentSource.choices)
    wording = models.TextField(help_text="The text the user was shown.")
    created_at = models.DateTimeField(db_index=True)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "purpose", "-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-created_at"])]

    def __str__(self) -> str:
        action = "granted" if self.granted else "withdrew"
        return f"{self.user_id} {action} {self.purpose} ({self.policy_version})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError(f"Consent event {self.pk} is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"Consent event {self.pk} is append-only.")


class PolicyVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)


class PolicyVersion(models.Model):
    """A version of the privacy policy; drafts have no published_at yet.

    Consent events store the version string that was current when they were
    recorded. Publishing a version with requires_reconsent makes every grant
    recorded under an earlier version outdated (see accounts.policy).
    """

    version = models.CharField(max_length=32, unique=True)
    summary = models.TextField(
        blank=True, default="", help_text="What changed, shown to users."
    )
    requires_reconsent = models.BooleanField(
        default=True,
        help_text="Ask users who granted under an earlier version to decide "
        "again. Leave unticked for corrections that change no purpose.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        permissions = [("publish_policyversion", "Can publish a policy version")]

    def __str__(self) -> str:
        state = "published" if self.published_at else "draft"
        return f"policy {self.version} ({state})"


class ErasureActor(models.TextChoices):
    SELF = "self", "the user"
    STAFF = "staff", "staff"


class ErasureRecord(models.Model):
    """Audit record of one erasure, without personal data.

    reference is an HMAC of the erased account's id and join time under the
    SECRET_KEY: it cannot be turned back into the id, and the user receives
    it as a receipt. counts maps each personal-data section to the number
    of rows removed or anonymized.
    """

    reference = models.CharField(max_length=64, unique=True)
    counts = models.JSONField(default=dict)
    requested_by = models.CharField(max_length=16, choices=ErasureActor.choices)
    # The staff member who ran it; empty when users erased themselves.
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_personal_data", "Can export a user's personal data"),
            ("erase_personal_data", "Can erase a user's personal data"),
        ]

    def __str__(self) -> str:
        return f"erasure {self.reference[:12]}"
