"""Build a campaign's personalized content for one user, for pages and previews."""

from dataclasses import dataclass

from django.http import Http404

from campaigns import rendering
from campaigns.assignment import assign
from campaigns.content import SlotFiller, add_item_details
from campaigns.models import Campaign, CampaignStatus, Delivery, Variant
from campaigns.segments import segment_users

VISIBLE_STATUSES = {CampaignStatus.SENDING, CampaignStatus.SENT}


@dataclass
class PersonalContent:
    """A campaign rendered for one user; variant is None for the holdout."""

    variant: Variant | None
    context: dict
    item_ids: list[int]
    compiled: rendering.CompiledVariant | None

    def page_html(self) -> str:
        """Return the HTML body alone, without the e-mail footer, for a page."""
        return self.compiled.html.render(self.context) if self.compiled else ""

    def message(self) -> rendering.RenderedMessage:
        """Return the full e-mail: subject, inlined HTML and text with footers."""
        return rendering.render_message(self.compiled, self.context)


def visible_campaign(slug: str) -> Campaign:
    campaign = Campaign.objects.filter(slug=slug, status__in=VISIBLE_STATUSES).first()
    if campaign is None:
        raise Http404(f"No live campaign {slug!r}.")
    return campaign


def variant_for(campaign: Campaign, user) -> tuple[Variant | None, int | None]:
    """Return the user's variant and delivery id; raise Http404 outside the segment."""
    delivery = (
        Delivery.objects.filter(campaign=campaign, user=user)
        .values("id", "variant_id")
        .first()
    )
    if delivery is not None:
        variant = Variant.objects.filter(pk=delivery["variant_id"]).first()
        return variant, delivery["id"]

    if not segment_users(campaign.segment).filter(pk=user.pk).exists():
        raise Http404(f"User {user.pk} is not in the audience of {campaign.slug!r}.")
    weights = list(campaign.variants.order_by("id").values_list("id", "weight"))
    if not weights:
        raise Http404(f"Campaign {campaign.slug!r} has no variant.")
    variant_id = assign(campaign.pk, user.pk, campaign.holdout_percent, weights)
    variant = Variant.objects.filter(pk=variant_id).first() if variant_id else None
    return variant, None


def personal_content(
    campaign: Campaign, user, variant: Variant | None, delivery_id: int | None = None
) -> PersonalContent:
    """Fill the slots for user and render the variant; holdout users get none."""
    if variant is None:
        return PersonalContent(None, {}, [], None)

    slots = SlotFiller(list(campaign.slots.all()), [user]).fill()[user.pk]
    add_item_details([slots])
    context = rendering.message_context(
        campaign, user, slots, variant_id=variant.pk, delivery_id=delivery_id
    )
    compiled = rendering.compile_variant(variant)
    item_ids = [item.item_id for slot in slots for item in slot.items]
    return PersonalContent(variant, context, item_ids, compiled)
