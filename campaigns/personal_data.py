"""Export and erase what the campaigns app stores about a user.

CampaignsConfig.ready() registers both with the accounts app's personal-data
registry, which runs them for the privacy page, the API and the admin.
"""

from django.db import transaction

from campaigns.models import Delivery


def export_deliveries(user) -> list[dict]:
    """Return the user's campaign deliveries with their tracking times."""
    rows = (
        Delivery.objects.filter(user_id=user.pk)
        .select_related("campaign", "variant")
        .order_by("id")
    )
    return [
        {
            "campaign": delivery.campaign.name,
            "variant": delivery.variant.name if delivery.variant else "holdout",
            "status": delivery.status,
            "recommended_item_ids": delivery.item_ids,
            "processed_at": iso(delivery.processed_at),
            "opened_at": iso(delivery.opened_at),
            "clicked_at": iso(delivery.clicked_at),
        }
        for delivery in rows
    ]


@transaction.atomic
def erase_deliveries(user) -> int:
    """Anonymize the user's deliveries and return how many rows changed.

    The rows stay without user, items or tracking times, so campaign totals
    do not change. The unique key on (campaign, user) allows any number of
    anonymous rows. Impressions and clicks stored as interactions
    belong to the recommendations app's erasure.
    """
    return Delivery.objects.filter(user_id=user.pk).update(
        user=None,
        item_ids=[],
        error="",
        opened_at=None,
        clicked_at=None,
    )


def iso(value) -> str | None:
    return value.isoformat() if value else None


def register_sections() -> None:
    from accounts.personal_data import register

    register("deliveries", export=export_deliveries, erase=erase_deliveries)
