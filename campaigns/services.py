"""Launch, pause, resume and cancel campaigns, and build their audience."""

import logging
from itertools import islice

from django.db import transaction
from django.utils import timezone

from campaigns.assignment import assign
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Delivery,
    DeliveryStatus,
)
from campaigns.rendering import compile_variant
from campaigns.segments import segment_users

logger = logging.getLogger(__name__)

# Delivery rows inserted per statement; 5,000 rows are about 0.5 MB of SQL.
AUDIENCE_CHUNK = 5_000
LAUNCHABLE = {CampaignStatus.DRAFT}
PAUSABLE = {CampaignStatus.SENDING, CampaignStatus.SCHEDULED}
CANCELLABLE = {
    CampaignStatus.DRAFT,
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
}


class CampaignStateError(Exception):
    """An action that the campaign's current status does not allow."""


def locked_campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def check_status(campaign: Campaign, allowed: set[str], action: str) -> None:
    if campaign.status not in allowed:
        names = ", ".join(sorted(allowed))
        raise CampaignStateError(
            f"Cannot {action} campaign {campaign.pk} ({campaign.name}) while it is "
            f"{campaign.status}; {action} works from: {names}."
        )


def validate_for_launch(campaign: Campaign) -> None:
    """Raise ValueError when the campaign cannot go out as configured."""
    variants = list(campaign.variants.all())
    if not variants:
        raise ValueError(
            f"Campaign {campaign.pk} ({campaign.name}) has no variant: add one "
            "with a subject and bodies before launching."
        )
    for variant in variants:
        compile_variant(variant)
    if not campaign.slots.exists():
        logger.warning("Campaign %s launches without content slots", campaign.pk)


@transaction.atomic
def launch_campaign(campaign_id: int) -> Campaign:
    """Schedule the campaign, or start it now when no future time is set."""
    from campaigns.tasks import run_campaign_task

    campaign = locked_campaign(campaign_id)
    check_status(campaign, LAUNCHABLE, "launch")
    validate_for_launch(campaign)
    now = timezone.now()
    if campaign.channel == Channel.PAGE:
        campaign.status = CampaignStatus.SENT
        campaign.launched_at = now
    elif campaign.scheduled_at and campaign.scheduled_at > now:
        campaign.status = CampaignStatus.SCHEDULED
    else:
        campaign.status = CampaignStatus.SENDING
        campaign.launched_at = now
        transaction.on_commit(lambda: run_campaign_task.delay(campaign_id))
    campaign.save(update_fields=["status", "launched_at"])
    logger.info("Campaign %s launched: %s", campaign_id, campaign.status)
    return campaign


@transaction.atomic
def pause_campaign(campaign_id: int) -> Campaign:
    """Stop after the batch in flight; resume picks up the pending rows."""
    campaign = locked_campaign(campaign_id)
    check_status(campaign, PAUSABLE, "pause")
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status"])
    logger.info("Campaign %s paused", campaign_id)
    return campaign


@transaction.atomic
def resume_campaign(campaign_id: int) -> Campaign:
    from campaigns.tasks import run_campaign_task

    campaign = locked_campaign(campaign_id)
    check_status(campaign, {CampaignStatus.PAUSED}, "resume")
    campaign.status = CampaignStatus.SENDING
    campaign.launched_at = campaign.launched_at or timezone.now()
    campaign.save(update_fields=["status", "launched_at"])
    transaction.on_commit(lambda: run_campaign_task.delay(campaign_id))
    logger.info("Campaign %s resumed", campaign_id)
    return campaign


@transaction.atomic
def cancel_campaign(campaign_id: int) -> Campaign:
    """Cancel for good: pending deliveries are cancelled, sent ones stay."""
    campaign = locked_campaign(campaign_id)
    # A page campaign is live while "sent", so cancelling takes it down.
    live_page = {CampaignStatus.SENT} if campaign.channel == Channel.PAGE else set()
    check_status(campaign, CANCELLABLE | live_page, "cancel")
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["status", "finished_at"])
    cancelled = Delivery.objects.filter(
        campaign=campaign, status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.CANCELLED)
    logger.info("Campaign %s cancelled with %s pending rows", campaign_id, cancelled)
    return campaign


def start_due_campaigns() -> list[int]:
    """Start the scheduled campaigns whose time has come; return their ids."""
    from campaigns.tasks import run_campaign_task

    now = timezone.now()
    due = Campaign.objects.filter(
        status=CampaignStatus.SCHEDULED, scheduled_at__lte=now
    ).values_list("id", flat=True)
    started = []
    for campaign_id in due:
        moved = Campaign.objects.filter(
            pk=campaign_id, status=CampaignStatus.SCHEDULED
        ).update(status=CampaignStatus.SENDING, launched_at=now)
        if moved:
            run_campaign_task.delay(campaign_id)
            started.append(campaign_id)
    return started


def build_audience(campaign_id: int) -> int:
    """Create one pending delivery per segment member, once per campaign.

    Reads user ids in chunks, so memory stays flat however large the segment.
    A second call adds nothing: the unique key drops existing pairs and
    audience_built_at stops later runs.
    """
    campaign = Campaign.objects.select_related("segment").get(pk=campaign_id)
    if campaign.audience_built_at is not None:
        return 0

    variants = list(campaign.variants.order_by("id").values_list("id", "weight"))
    user_ids = segment_users(campaign.segment).values_list("id", flat=True)
    ids = user_ids.iterator(chunk_size=AUDIENCE_CHUNK)
    created = 0
    while chunk := list(islice(ids, AUDIENCE_CHUNK)):
        rows = [
            Delivery(
                campaign_id=campaign_id,
                user_id=user_id,
                variant_id=assign(
                    campaign_id, user_id, campaign.holdout_percent, variants
                ),
            )
            for user_id in chunk
        ]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        created += len(rows)
    Campaign.objects.filter(pk=campaign_id).update(audience_built_at=timezone.now())
    logger.info("Campaign %s audience: %s recipients", campaign_id, created)
    return created
