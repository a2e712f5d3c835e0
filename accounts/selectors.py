"""Queries over consent state for many users at once, for lists and filters."""

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import ConsentEvent, Purpose
from accounts.policy import PolicyState


def consent_field(purpose: str) -> str:
    return f"consent_{purpose}"


def version_field(purpose: str) -> str:
    return f"consent_{purpose}_version"


def annotate_consent_state(users: QuerySet) -> QuerySet:
    """Add the latest decision and its policy version per purpose to each user.

    Each annotation is a correlated subquery on the (user, purpose,
    created_at) index, so a page of users costs one query, not one per user.
    consent_<purpose> is True, False, or None for never asked.
    """
    annotations = {}
    for purpose in Purpose.values:
        latest = ConsentEvent.objects.filter(
            user=OuterRef("pk"), purpose=purpose
        ).order_by("-created_at", "-id")
        annotations[consent_field(purpose)] = Subquery(latest.values("granted")[:1])
        annotations[version_field(purpose)] = Subquery(
            latest.values("policy_version")[:1]
        )
    return users.annotate(**annotations)


def outdated_grant_condition(state: PolicyState) -> Q:
    """Match annotated users with a grant recorded under an outdated version."""
    if state.accepted is None:
        return Q(pk__in=[])

    condition = Q(pk__in=[])
    for purpose in Purpose.values:
        condition |= Q(**{consent_field(purpose): True}) & ~Q(
            **{f"{version_field(purpose)}__in": sorted(state.accepted)}
        )
    return condition
