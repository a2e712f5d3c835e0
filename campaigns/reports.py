"""Per-variant campaign figures and the uplift over the holdout group."""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q, Sum

from campaigns.models import Campaign, Delivery, DeliveryStatus, TrackingCounter
from recommendations.models import Interaction, InteractionKind

Z_95 = 1.959964  # two-sided 95 % quantile of the standard normal
# Interactions that show interest in an item; impressions and the campaign's
# own clicks are counted elsewhere.
CONVERSION_KINDS = [
    InteractionKind.VIEW,
    InteractionKind.PURCHASE,
    InteractionKind.ENROLL,
    InteractionKind.LIKE,
    InteractionKind.RATING,
]
HOLDOUT_LABEL = "holdout"
# Users whose interactions are read per query when counting conversions.
CONVERSION_CHUNK = 2_000


@dataclass
class Uplift:
    """Difference of conversion rates against the holdout, with a 95 % CI."""

    difference: float
    low: float
    high: float


@dataclass
class VariantReport:
    name: str
    variant_id: int | None
    recipients: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    opens: int = 0
    clicks: int = 0
    conversions: int = 0
    uplift: Uplift | None = None
    counted: int = field(default=0, repr=False)

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.counted if self.counted else None


def uplift(
    conversions: int, total: int, holdout_conversions: int, holdout_total: int
) -> Uplift | None:
    """Return the difference of proportions with a normal-approximation 95 % CI.

    Returns None when either group is empty. The interval is the Wald
    interval, reasonable once each group has a few conversions and non-
    conversions.
    """
    if total == 0 or holdout_total == 0:
        return None
    rate = conversions / total
    holdout_rate = holdout_conversions / holdout_total
    error = math.sqrt(
        rate * (1 - rate) / total + holdout_rate * (1 - holdout_rate) / holdout_total
    )
    difference = rate - holdout_rate
    return Uplift(difference, difference - Z_95 * error, difference + Z_95 * error)


def campaign_report(campaign: Campaign) -> list[VariantReport]:
    """Return one row per variant and one for the holdout, holdout last."""
    rows = {v.pk: VariantReport(v.name, v.pk) for v in campaign.variants.all()}
    holdout = VariantReport(HOLDOUT_LABEL, None)
    add_delivery_counts(campaign, rows, holdout)
    add_counters(campaign, rows)
    add_conversions(campaign, rows, holdout)
    for row in rows.values():
        row.uplift = uplift(
            row.conversions, row.counted, holdout.conversions, holdout.counted
        )
    return [*rows.values(), holdout]


def add_delivery_counts(campaign, rows: dict, holdout: VariantReport) -> None:
    statuses = DeliveryStatus
    counts = (
        Delivery.objects.filter(campaign=campaign)
        .values("variant_id")
        .annotate(
            recipients=Count("id"),
            sent=Count("id", filter=Q(status=statuses.SENT)),
            failed=Count("id", filter=Q(status=statuses.FAILED)),
            skipped=Count("id", filter=Q(status=statuses.SKIPPED)),
            opens=Count("id", filter=Q(opened_at__isnull=False)),
            clicks=Count("id", filter=Q(clicked_at__isnull=False)),
        )
    )
    for entry in counts:
        row = rows.get(entry["variant_id"], holdout)
        for name in ("recipients", "sent", "failed", "skipped", "opens", "clicks"):
            setattr(row, name, getattr(row, name) + entry[name])


def add_counters(campaign, rows: dict) -> None:
    """Add the opens and clicks of users without analytics consent."""
    totals = (
        TrackingCounter.objects.filter(campaign=campaign)
        .values("variant_id", "event")
        .annotate(total=Sum("count"))
    )
    for entry in totals:
        row = rows.get(entry["variant_id"])
        if row is None:
            continue
        if entry["event"] == "open":
            row.opens += entry["total"]
        elif entry["event"] == "click":
            row.clicks += entry["total"]


def add_conversions(campaign, rows: dict, holdout: VariantReport) -> None:
    """Count recipients with an interaction on one of their items in the window.

    Sent and holdout deliveries both carry the items chosen for them, so the
    holdout rate is the baseline for the same kind of items.
    """
    window = timedelta(days=campaign.conversion_days)
    done = Delivery.objects.filter(
        campaign=campaign,
        status__in=[DeliveryStatus.SENT, DeliveryStatus.HOLDOUT],
        user__isnull=False,
        processed_at__isnull=False,
    ).values_list("variant_id", "user_id", "item_ids", "processed_at")
    chunk: list[tuple] = []
    for entry in done.iterator(chunk_size=CONVERSION_CHUNK):
        chunk.append(entry)
        if len(chunk) >= CONVERSION_CHUNK:
            count_chunk(chunk, window, rows, holdout)
            chunk = []
    count_chunk(chunk, window, rows, holdout)


def count_chunk(chunk, window, rows: dict, holdout: VariantReport) -> None:
    if not chunk:
        return
    user_ids = [user_id for _, user_id, _, _ in chunk]
    earliest = min(processed for *_, processed in chunk)
    events = defaultdict(list)
    interactions = Interaction.objects.filter(
        user_id__in=user_ids, kind__in=CONVERSION_KINDS, occurred_at__gte=earliest
    ).values_list("user_id", "item_id", "occurred_at")
    for user_id, item_id, occurred_at in interactions:
        events[user_id].append((item_id, occurred_at))

    for variant_id, user_id, item_ids, processed_at in chunk:
        row = rows.get(variant_id, holdout)
        row.counted += 1
        wanted = set(item_ids)
        end = processed_at + window
        if any(
            item in wanted and processed_at <= when <= end
            for item, when in events[user_id]
        ):
            row.conversions += 1
