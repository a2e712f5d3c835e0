"""Record impressions, opens and clicks, honouring analytics consent.

A user with analytics consent gets Interaction rows and the delivery's open
and click times. For anyone else, the event only adds to a per-day counter,
so the reports count it without knowing who caused it.
"""

import logging
import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.consent import has_consent, record_consent
from accounts.models import ConsentSource, Purpose, User
from campaigns.models import Delivery, TrackingCounter, TrackingEvent
from campaigns.tokens import ClickTarget
from recommendations.models import Interaction, InteractionKind

logger = logging.getLogger(__name__)


def count_event(
    campaign_id: int | None, variant_id: int | None, event: str, amount: int = 1
) -> None:
    """Add amount to the day's counter of the campaign and variant."""
    day = timezone.now().date()
    key = {"campaign_id": campaign_id, "variant_id": variant_id, "day": day}
    updated = TrackingCounter.objects.filter(**key, event=event).update(
        count=F("count") + amount
    )
    if updated:
        return
    try:
        with transaction.atomic():
            TrackingCounter.objects.create(**key, event=event, count=amount)
    except IntegrityError:
        TrackingCounter.objects.filter(**key, event=event).update(
            count=F("count") + amount
        )


def record_interactions(user_id: int, item_ids: Iterable[int], kind: str) -> None:
    now = timezone.now()
    Interaction.objects.bulk_create(
        [
            Interaction(
                user_id=user_id,
                item_id=item_id,
                kind=kind,
                occurred_at=now,
                event_id=f"campaigns:{kind}:{uuid.uuid4().hex}",
            )
            for item_id in item_ids
        ]
    )


def record_impressions(
    user: User, campaign_id: int, variant_id: int | None, item_ids: list[int]
) -> bool:
    """Record what a personalized page showed; return whether rows were stored."""
    if not item_ids:
        return False
    if has_consent(user, Purpose.ANALYTICS):
        record_interactions(user.pk, item_ids, InteractionKind.IMPRESSION)
        return True
    count_event(campaign_id, variant_id, TrackingEvent.IMPRESSION, len(item_ids))
    return False


def record_click(target: ClickTarget) -> bool:
    """Record a click on a recommended item; return whether a row was stored."""
    user = User.objects.filter(pk=target.user_id).first()
    if user is not None and has_consent(user, Purpose.ANALYTICS):
        record_interactions(user.pk, [target.item_id], InteractionKind.CLICK)
        if target.delivery_id is not None:
            Delivery.objects.filter(
                pk=target.delivery_id, clicked_at__isnull=True
            ).update(clicked_at=timezone.now())
        return True
    count_event(target.campaign_id, target.variant_id, TrackingEvent.CLICK)
    return False


def record_open(delivery_id: int) -> bool:
    """Record an e-mail open from the pixel; return whether the delivery was marked."""
    delivery = Delivery.objects.filter(pk=delivery_id).select_related("user").first()
    if delivery is None:
        return False
    if delivery.user is not None and has_consent(delivery.user, Purpose.ANALYTICS):
        Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
        return True
    count_event(delivery.campaign_id, delivery.variant_id, TrackingEvent.OPEN)
    return False


def unsubscribe(user_id: int) -> bool:
    """Withdraw e-mail consent; return False when the user no longer exists."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    if has_consent(user, Purpose.EMAIL):
        record_consent(user, Purpose.EMAIL, False, ConsentSource.UNSUBSCRIBE)
    logger.info("User %s unsubscribed from marketing e-mail", user_id)
    return True
