"""Record consent per purpose and read its current state from the log."""

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ConsentEvent, ConsentSource, Purpose, User
from accounts.policy import REQUIRES_CURRENT_GRANT, PolicyState, policy_state

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
        policy_version=policy_version or policy_state().current,
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
    """Return whether each purpose is allowed now, as has_consent decides it.

    A purpose never asked about counts as not allowed.
    """
    if not user or not user.is_authenticated:
        return dict.fromkeys(Purpose.values, False)
    return {entry.purpose: entry.effective for entry in consent_overview(user)}


def has_consent(user: User | None, purpose: str) -> bool:
    """Return whether the user's latest event for the purpose is a grant.

    For e-mail the grant must also be up to date with the policy, because
    an outdated e-mail grant stops counting (see accounts.policy).
    """
    return ConsentCheck(purpose).allows(user)


class ConsentCheck:
    """A has_consent() check for one purpose, run for one user after another.

    The statement is written once, so a loop that checks consent right
    before each of many actions, such as sending a batch of campaign
    e-mails, spends one short query per check and nothing on building it.
    The published policy versions are read at the first check that needs
    them and kept for the checker's lifetime.
    """

    def __init__(self, purpose: str):
        self.purpose = purpose
        self.policy: PolicyState | None = None
        self.sql = latest_decision_sql()

    def allows(self, user: User | None) -> bool:
        if user is None or not user.is_authenticated:
            return False

        with connection.cursor() as cursor:
            cursor.execute(self.sql, [user.pk, self.purpose])
            latest = cursor.fetchone()
        if latest is None or not latest[0]:
            return False
        if self.purpose not in REQUIRES_CURRENT_GRANT:
            return True  # saves reading the policy versions on every request
        if self.policy is None:
            self.policy = policy_state()
        return self.policy.is_current_grant(latest[1])


@functools.cache
def latest_decision_sql() -> str:
    """Return SQL for a user's latest consent event on a purpose.

    It takes the user id and the purpose and returns (granted, policy
    version), using the (user, purpose, -created_at) index.
    """
    quote = connection.ops.quote_name
    meta = ConsentEvent._meta

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    return (
        f"SELECT {column('granted')}, {column('policy_version')} "
        f"FROM {quote(meta.db_table)} "
        f"WHERE {column('user')} = %s AND {column('purpose')} = %s "
        f"ORDER BY {column('created_at')} DESC, {column('id')} DESC LIMIT 1"
    )


def grant_counts(purpose: str, policy_version: str, state: PolicyState | None) -> bool:
    """Return whether a grant under policy_version allows the purpose now.

    state may be None only for purposes that do not depend on the policy.
    """
    if purpose not in REQUIRES_CURRENT_GRANT:
        return True
    return state.is_current_grant(policy_version)


def users_with_consent(purpose: str, user_ids: Iterable[int] | None = None) -> set[int]:
    """Return the ids, among user_ids or all users, whose latest event grants."""
    events = ConsentEvent.objects.filter(purpose=purpose)
    if user_ids is not None:
        events = events.filter(user_id__in=list(user_ids))

    # Only some purposes depend on the policy, so the others skip its query.
    state = policy_state() if purpose in REQUIRES_CURRENT_GRANT else None
    latest: dict[int, bool] = {}
    rows = events.order_by("user_id", "created_at", "id").values_list(
        "user_id", "granted", "policy_version"
    )
    for user_id, granted, version in rows.iterator(chunk_size=10_000):
        latest[user_id] = granted and grant_counts(purpose, version, state)
    return {user_id for user_id, granted in latest.items() if granted}


@dataclass(frozen=True)
class PurposeState:
    """A user's latest decision on one purpose, as shown on the privacy page."""

    purpose: str
    label: str
    wording: str
    granted: bool
    decided: bool
    policy_version: str | None
    recorded_at: datetime | None
    # A grant recorded under a policy version that has since been replaced
    # by one requiring re-consent.
    outdated: bool
    # Whether the grant allows the purpose right now (see grant_counts).
    effective: bool


def consent_overview(
    user: User | None, state: PolicyState | None = None
) -> list[PurposeState]:
    """Return the latest decision on every purpose, in Purpose order.

    With no saved user, as on the sign-up page, every purpose is undecided.
    """
    state = state or policy_state()
    latest: dict[str, ConsentEvent] = {}
    events = ConsentEvent.objects.none()
    if user is not None and user.pk is not None:
        events = ConsentEvent.objects.filter(user_id=user.pk)
    for event in events.order_by("purpose", "-created_at", "-id"):
        latest.setdefault(event.purpose, event)

    overview = []
    for purpose in Purpose:
        event = latest.get(purpose.value)
        granted = bool(event and event.granted)
        outdated = granted and not state.is_current_grant(event.policy_version)
        overview.append(
            PurposeState(
                purpose=purpose.value,
                label=str(purpose.label),
                wording=DEFAULT_WORDING[purpose],
                granted=granted,
                decided=event is not None,
                policy_version=event.policy_version if event else None,
                recorded_at=event.created_at if event else None,
                outdated=outdated,
                effective=granted
                and grant_counts(purpose, event.policy_version, state),
            )
        )
    return overview


def needs_reconsent(user: User) -> list[str]:
    """Return the purposes the user granted under an outdated policy version."""
    return [entry.purpose for entry in consent_overview(user) if entry.outdated]


@transaction.atomic
def update_consents(
    user: User,
    decisions: Mapping[str, bool],
    source: str,
    *,
    policy_version: str | None = None,
) -> list[ConsentEvent]:
    """Record an event for each purpose that is undecided, changed or outdated.

    policy_version is the version the user was shown; a ValueError names it
    when a newer one was published meanwhile, so that no one agrees to a
    text they were not shown. A grant that is already up to date records
    nothing, so saving the page twice does not grow the log.
    """
    unknown = sorted(set(decisions) - set(Purpose.values))
    if unknown:
        raise ValueError(f"Unknown consent purposes {unknown}: use {Purpose.values}.")
    state = policy_state()
    if policy_version is not None and policy_version != state.current:
        raise ValueError(
            f"Policy version {policy_version} is no longer current; "
            f"review version {state.current} and decide again."
        )

    recorded = []
    for entry in consent_overview(user, state):
        if entry.purpose not in decisions:
            continue
        requested = bool(decisions[entry.purpose])
        unchanged = entry.decided and entry.granted == requested
        if unchanged and not (requested and entry.outdated):
            continue
        recorded.append(
            record_consent(
                user,
                entry.purpose,
                requested,
                source,
                wording=entry.wording,
                policy_version=state.current,
            )
        )
    return recorded


@transaction.atomic
def grant_imported_consents(user_ids: Iterable[int], purpose: str, wording: str) -> int:
    """Record a grant with source import for users with no event for purpose.

    A user who already granted or withdrew keeps that decision, so a second
    import never overrides a withdrawal.
    """
    ids = list(user_ids)
    policy_version = policy_state().current
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
            policy_version=policy_version,
            created_at=now,
        )
        for user_id in ids
        if user_id not in already
    ]
    ConsentEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)
