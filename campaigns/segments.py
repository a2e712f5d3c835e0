"""Evaluate segment rules as one ORM queryset of users."""

from collections.abc import Iterable
from datetime import timedelta
from functools import reduce
from operator import and_, or_

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import AGE_BANDS, ConsentEvent, User
from campaigns.models import Match, RuleKind, Segment, SegmentRule
from recommendations.models import Interaction, InteractionKind

SAMPLE_SIZE = 10
PURCHASE_KINDS = [InteractionKind.PURCHASE, InteractionKind.ENROLL]


def segment_users(segment: Segment) -> QuerySet:
    """Return the active users matching the segment's rules."""
    return users_matching(list(segment.rules.all()), segment.match)


def users_matching(rules: Iterable[SegmentRule], match: str) -> QuerySet:
    """Return active users matching all or any of rules; no rules matches everyone.

    The rules need not be saved, so the admin can preview a segment being edited.
    """
    conditions = [rule_condition(rule) for rule in rules]
    users = User.objects.filter(is_active=True)
    if not conditions:
        return users.order_by("id")

    combine = and_ if match == Match.ALL else or_
    return users.filter(reduce(combine, conditions)).order_by("id")


def rule_condition(rule: SegmentRule) -> Q:
    """Return the Q object of one rule, negated when rule.negate is set."""
    builders = {
        RuleKind.AGE_BAND: age_band_condition,
        RuleKind.GENDER: lambda r: Q(profile__gender=r.value),
        RuleKind.OCCUPATION: lambda r: Q(profile__occupation__iexact=r.value),
        RuleKind.POSTCODE_PREFIX: lambda r: Q(profile__postcode__istartswith=r.value),
        RuleKind.CATEGORY_INTERACTION: category_condition,
        RuleKind.PURCHASE_COUNT: purchase_count_condition,
        RuleKind.INACTIVE: inactive_condition,
        RuleKind.CONSENT: lambda r: consent_condition(r.value),
    }
    if rule.kind not in builders:
        raise ValueError(f"Unknown rule kind {rule.kind!r}: use {RuleKind.values}.")
    condition = builders[RuleKind(rule.kind)](rule)
    return ~condition if rule.negate else condition


def age_band_condition(rule: SegmentRule) -> Q:
    for low, high, label in AGE_BANDS:
        if label == rule.value:
            return Q(profile__age__gte=low, profile__age__lte=high)
    raise ValueError(f"Unknown age band {rule.value!r}: use one of the bands.")


def category_condition(rule: SegmentRule) -> Q:
    since = timezone.now() - timedelta(days=rule.number or 0)
    events = Interaction.objects.filter(
        item__categories__slug=rule.value, occurred_at__gte=since
    ).exclude(kind=InteractionKind.IMPRESSION)
    return Q(id__in=events.values("user_id"))


def purchase_count_condition(rule: SegmentRule) -> Q:
    buyers = (
        Interaction.objects.filter(kind__in=PURCHASE_KINDS)
        .values("user_id")
        .annotate(purchases=Count("id"))
        .filter(purchases__gte=rule.number or 0)
        .values("user_id")
    )
    return Q(id__in=buyers)


def inactive_condition(rule: SegmentRule) -> Q:
    since = timezone.now() - timedelta(days=rule.number or 0)
    recent = Interaction.objects.filter(occurred_at__gte=since).exclude(
        kind=InteractionKind.IMPRESSION
    )
    return ~Q(id__in=recent.values("user_id"))


def consent_condition(purpose: str) -> Q:
    """Match users whose latest consent event for purpose is a grant."""
    latest = (
        ConsentEvent.objects.filter(user_id=OuterRef("pk"), purpose=purpose)
        .order_by("-created_at", "-id")
        .values("granted")[:1]
    )
    granted = User.objects.annotate(latest=Subquery(latest)).filter(latest=True)
    return Q(id__in=granted.values("id"))


def segment_preview(rules: list[SegmentRule], match: str) -> dict:
    """Return the size of a possibly unsaved segment and a sample of members."""
    users = users_matching(rules, match)
    sample = users.select_related("profile")[:SAMPLE_SIZE]
    return {
        "size": users.count(),
        "sample": [
            {"id": user.pk, "username": user.username, "email": user.email}
            for user in sample
        ],
    }
