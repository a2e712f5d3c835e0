"""Send an e-mail campaign in batches, at most once per recipient.

A delivery row per campaign and recipient is the idempotency key. A batch
claims pending rows with one atomic update (status pending to sending, tagged
with the batch's claim token), so two workers never get the same row. A row
leaves "sending" only as sent, failed or skipped; a row left in "sending" by
a killed worker is marked failed after SEND_LEASE rather than sent again,
because its message may already have gone out.
"""

import logging
import smtplib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone

from accounts.consent import ConsentCheck, users_with_consent
from accounts.models import Purpose
from campaigns import rendering
from campaigns.content import SlotFiller, add_item_details
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# 500 recipients take about 1.5 s at 300 e-mails/s, so a pause or cancel from
# the admin takes effect within that time, and a batch keeps at most 500
# rendered messages (a few MB) in memory.
BATCH_SIZE = 500
SEND_LEASE = timedelta(minutes=15)
MAX_ERROR_LENGTH = 500
# Errors of rendering one recipient's message; the batch goes on.
RECIPIENT_ERRORS = (
    TemplateDoesNotExist,
    TemplateSyntaxError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)
RECIPIENT_SMTP_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    holdout: int = 0
    more: bool = False


@dataclass
class Outcome:
    """The result of one claimed delivery, written back in bulk."""

    status: str
    item_ids: list[int] = field(default_factory=list)
    error: str = ""


def claim_batch(campaign_id: int, size: int = BATCH_SIZE) -> list[Delivery]:
    """Move up to size pending deliveries to "sending" and return them."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(campaign_id=campaign_id, status=DeliveryStatus.PENDING)
            .order_by("id")
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            return []
        # The status condition makes the claim safe on databases without
        # row locks too: a row another worker took is left alone.
        Delivery.objects.filter(id__in=ids, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claim_token=token, claimed_at=timezone.now()
        )
    return list(
        Delivery.objects.filter(claim_token=token, status=DeliveryStatus.SENDING)
        .select_related("user", "variant")
        .order_by("id")
    )


def send_next_batch(campaign_id: int, size: int = BATCH_SIZE) -> BatchResult:
    """Claim and process one batch if the campaign is still sending."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != CampaignStatus.SENDING:
        logger.info("Campaign %s is %s; not sending", campaign_id, campaign.status)
        return BatchResult()

    deliveries = claim_batch(campaign_id, size)
    if not deliveries:
        finish_if_done(campaign)
        return BatchResult()

    result = process_batch(campaign, deliveries)
    result.more = True
    return result


def process_batch(campaign: Campaign, deliveries: list[Delivery]) -> BatchResult:
    """Fill, render and send the claimed deliveries, then store the outcomes."""
    started = time.perf_counter()
    outcomes: dict[int, Outcome] = {}
    try:
        prepared = prepare_messages(campaign, deliveries, outcomes)
        send_prepared(campaign, prepared, outcomes)
    finally:
        save_outcomes(deliveries, outcomes)

    result = summarize(len(deliveries), outcomes.values())
    logger.info(
        "Campaign %s batch of %s: %s sent, %s failed, %s skipped, %s holdout in %.2f s",
        campaign.pk,
        result.claimed,
        result.sent,
        result.failed,
        result.skipped,
        result.holdout,
        time.perf_counter() - started,
    )
    return result


@dataclass
class PreparedMessage:
    delivery: Delivery
    message: EmailMultiAlternatives
    item_ids: list[int]


def prepare_messages(
    campaign: Campaign, deliveries: list[Delivery], outcomes: dict[int, Outcome]
) -> list[PreparedMessage]:
    """Skip, hold out or render each delivery; recipients' errors become failures."""
    user_ids = [d.user_id for d in deliveries if d.user_id is not None]
    consenting = users_with_consent(Purpose.EMAIL, user_ids)
    to_fill = []
    for delivery in deliveries:
        skip = skip_reason(delivery, consenting)
        if skip is not None:
            outcomes[delivery.pk] = skip
        else:
            to_fill.append(delivery)

    filler = SlotFiller(list(campaign.slots.all()), [d.user for d in to_fill])
    slots_by_user = filler.fill()
    filled = []
    for delivery in to_fill:
        slots = slots_by_user[delivery.user_id]
        item_ids = [item.item_id for slot in slots for item in slot.items]
        if delivery.variant_id is None:
            outcomes[delivery.pk] = Outcome(DeliveryStatus.HOLDOUT, item_ids)
            continue
        filled.append((delivery, slots, item_ids))

    add_item_details([slots for _, slots, _ in filled])
    compiled: dict[int, rendering.CompiledVariant] = {}
    prepared = []
    for delivery, slots, item_ids in filled:
        try:
            message = render_delivery(campaign, delivery, slots, compiled)
        except RECIPIENT_ERRORS as error:
            logger.warning(
                "Campaign %s delivery %s: rendering failed: %s",
                campaign.pk,
                delivery.pk,
                error,
            )
            outcomes[delivery.pk] = Outcome(DeliveryStatus.FAILED, item_ids, str(error))
            continue
        prepared.append(PreparedMessage(delivery, message, item_ids))
    return prepared


def skip_reason(delivery: Delivery, consenting: set[int]) -> Outcome | None:
    if delivery.user_id is None:
        return Outcome(DeliveryStatus.CANCELLED, error="The recipient was erased.")
    if delivery.user_id not in consenting:
        return Outcome(DeliveryStatus.SKIPPED, error="No e-mail consent.")
    if delivery.variant_id is not None and not delivery.user.email:
        return Outcome(DeliveryStatus.FAILED, error="The user has no e-mail address.")
    return None


def render_delivery(campaign, delivery, slots, compiled) -> EmailMultiAlternatives:
    if delivery.variant_id not in compiled:
        compiled[delivery.variant_id] = rendering.compile_variant(delivery.variant)
    context = rendering.message_context(
        campaign,
        delivery.user,
        slots,
        variant_id=delivery.variant_id,
        delivery_id=delivery.pk,
    )
    rendered = rendering.render_message(compiled[delivery.variant_id], context)
    return rendering.build_email(campaign, rendered, delivery.user.email)


def send_prepared(
    campaign: Campaign, prepared: list[PreparedMessage], outcomes: dict[int, Outcome]
) -> None:
    """Send over one SMTP connection, checking consent right before each message.

    A refused recipient fails only that row. Any other error fails the
    message in flight, because it may have gone out. The error is re-raised
    so that the task retries, and the messages not yet tried go back to
    pending. The published policy versions are read once per batch, so a
    version published while a batch goes out applies from the next batch,
    at most BATCH_SIZE messages later.
    """
    if not prepared:
        return

    consent = ConsentCheck(Purpose.EMAIL)
    with get_connection() as connection:
        for entry in prepared:
            delivery = entry.delivery
            if not consent.allows(delivery.user):
                outcomes[delivery.pk] = Outcome(
                    DeliveryStatus.SKIPPED,
                    error="E-mail consent withdrawn before sending.",
                )
                continue
            entry.message.connection = connection
            try:
                entry.message.send()
            except RECIPIENT_SMTP_ERRORS as error:
                logger.warning(
                    "Campaign %s delivery %s: SMTP refused the message: %s",
                    campaign.pk,
                    delivery.pk,
                    error,
                )
                outcomes[delivery.pk] = Outcome(
                    DeliveryStatus.FAILED, entry.item_ids, str(error)
                )
                continue
            except BaseException as error:
                # A lost connection, a time limit or a shutdown: the message
                # may have gone out, so it is failed rather than retried.
                logger.exception(
                    "Campaign %s: sending stopped at delivery %s",
                    campaign.pk,
                    delivery.pk,
                )
                outcomes[delivery.pk] = Outcome(
                    DeliveryStatus.FAILED,
                    entry.item_ids,
                    "Sending stopped while this message was in flight, so it "
                    f"may or may not have gone out; not retried: {error!r}",
                )
                raise
            outcomes[delivery.pk] = Outcome(DeliveryStatus.SENT, entry.item_ids)


def save_outcomes(deliveries: list[Delivery], outcomes: dict[int, Outcome]) -> None:
    """Write the outcomes and release the rows that were never tried.

    Rows with the same status and error share one UPDATE, so a batch takes a
    handful of statements rather than one per row. Recipients without
    personalization share their items too. Personal item lists are written
    by one more statement per 500 rows.
    """
    now = timezone.now()
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    items: dict[tuple[str, str], set[tuple[int, ...]]] = defaultdict(set)
    for delivery_id, outcome in outcomes.items():
        key = (outcome.status, outcome.error[:MAX_ERROR_LENGTH])
        groups[key].append(delivery_id)
        items[key].add(tuple(outcome.item_ids))
    varied = [
        Delivery(pk=delivery_id, item_ids=outcomes[delivery_id].item_ids)
        for key, ids in groups.items()
        if len(items[key]) > 1
        for delivery_id in ids
    ]
    # One transaction, so the batch costs one commit (one log flush).
    with transaction.atomic():
        for key, ids in groups.items():
            status, error = key
            fields = {"status": status, "error": error, "processed_at": now}
            if len(items[key]) == 1:
                fields["item_ids"] = list(next(iter(items[key])))
            Delivery.objects.filter(id__in=ids).update(**fields)
        Delivery.objects.bulk_update(varied, ["item_ids"], batch_size=BATCH_SIZE)

    untried = [d.pk for d in deliveries if d.pk not in outcomes]
    if untried:
        Delivery.objects.filter(id__in=untried, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, claim_token="", claimed_at=None
        )
        logger.warning("Released %s untried deliveries to pending", len(untried))


def summarize(claimed: int, outcomes) -> BatchResult:
    result = BatchResult(claimed=claimed)
    for outcome in outcomes:
        if outcome.status == DeliveryStatus.SENT:
            result.sent += 1
        elif outcome.status == DeliveryStatus.FAILED:
            result.failed += 1
        elif outcome.status == DeliveryStatus.SKIPPED:
            result.skipped += 1
        elif outcome.status == DeliveryStatus.HOLDOUT:
            result.holdout += 1
    return result


def finish_if_done(campaign: Campaign) -> bool:
    """Fail stale claims, then mark the campaign sent when no row is left."""
    stale_before = timezone.now() - SEND_LEASE
    stale = Delivery.objects.filter(
        campaign=campaign, status=DeliveryStatus.SENDING, claimed_at__lt=stale_before
    ).update(
        status=DeliveryStatus.FAILED,
        error="The worker stopped mid-batch; not retried to avoid a second e-mail.",
    )
    if stale:
        logger.warning("Campaign %s: %s stale claims marked failed", campaign.pk, stale)

    open_rows = Delivery.objects.filter(
        campaign=campaign,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
    )
    if open_rows.exists():
        return False
    finished = Campaign.objects.filter(
        pk=campaign.pk, status=CampaignStatus.SENDING
    ).update(status=CampaignStatus.SENT, finished_at=timezone.now())
    if finished:
        logger.info("Campaign %s finished sending", campaign.pk)
    return bool(finished)


def send_test_message(campaign: Campaign, content, address: str) -> None:
    """Send a preview rendered for one user to address, with no delivery row."""
    rendered = content.message()
    rendered.subject = f"[Test] {rendered.subject}"
    rendering.build_email(campaign, rendered, address).send()
    logger.info("Campaign %s: test message sent", campaign.pk)
