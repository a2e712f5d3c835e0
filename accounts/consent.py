"""Record consent per purpose and read its current state from the log."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ConsentEvent, ConsentSource, Purpose, User

logger = logging.getLogger(__name__)

DEFAULT_WORDING = {
    Purpose.PERSONALIZATION: (
        "Use what I view, rate and buy to recommend items for me."
    ),
    Purpose.EMAIL: "Send me marketing e-mails with offers picked for me.",
    Purpose.ANALYTICS: "Record when I open those e-mails and what I click.",
}


def record_consent(
    user: User,
    purpose: str,
    granted: bool,
    source: str,
    *,
    wording: str = "",
    policy_version: str = "",
) -> ConsentEvent:
    """Append one grant or withdrawal to the user's consent log."""
    if purpose not in Purpose.values:
        raise ValueError(f"Unknown consent purpose {purpose!r}: use {Purpose.values}.")
    if source not in ConsentSource.values:
        raise ValueError(
            f"Unknown consent source {source!r}: use {ConsentSource.values}."
        )

    event = ConsentEvent.objects.create(
        user=user,
        purpose=purpose,
        granted=granted,
        source=source,
        wording=wording or DEFAULT_WORDING[Purpose(purpose)],
        policy_version=policy_version or settings.ATTUNE_POLICY_VERSION,
        created_at=timezone.now(),
    )
    logger.info(
        "Consent %s for user %s purpose %s from %s",
        "granted" if granted else "withdrawn",
        user.pk,
        purpose,
        source,
    )
    return event


def current_consents(user: User) -> dict[str, bool]:
    """Return the latest state of every purpose; never-asked counts as no."""
    state = dict.fromkeys(Purpose.values, False)
    if not user or not user.is_authenticated:
        return state

    seen: set[str] = set()
    events = ConsentEvent.objects.filter(user_id=user.pk).order_by(
        "purpose", "-created_at", "-id"
    )
    for purpose, granted in events.values_list("purpose", "granted"):
        if purpose not in seen:
            seen.add(purpose)
            state[purpose] = granted
    return state


def has_consent(user: User | None, purpose: str) -> bool:
    """Return whether the user's latest event for the purpose is a grant."""
    if user is None or not user.is_authenticated:
        return False

    latest = (
        ConsentEvent.objects.filter(user_id=user.pk, purpose=purpose)
        .order_by("-created_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(latest)


def users_with_consent(purpose: str, user_ids: Iterable[int] | None = None) -> set[int]:
    """Return the ids, among user_ids or all users, whose latest event grants."""
    events = ConsentEvent.objects.filter(purpose=purpose)
    if user_ids is not None:
        events = events.filter(user_id__in=list(user_ids))

    latest: dict[int, bool] = {}
    rows = events.order_by("user_id", "created_at", "id").values_list(
        "user_id", "granted"
    )
    for user_id, granted in rows.iterator(chunk_size=10_000):
        latest[user_id] = granted
    return {user_id for user_id, granted in latest.items() if granted}


@transaction.atomic
def grant_imported_consents(user_ids: Iterable[int], purpose: str, wording: str) -> int:
    """Record a grant with source import for users with no event for purpose.

    A user who already granted or withdrew keeps that decision, so a second
    import never overrides a withdrawal.
    """
    ids = list(user_ids)
    already = set(
        ConsentEvent.objects.filter(purpose=purpose, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    now = timezone.now()
    events = [
        ConsentEvent(
            user_id=user_id,
            purpose=purpose,
            granted=True,
            source=ConsentSource.IMPORT,
            wording=wording,
            policy_version=settings.ATTUNE_POLICY_VERSION,
            created_at=now,
        )
        for user_id in ids
        if user_id not in already
    ]
    ConsentEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)
