"""Ingest client events into the interaction log the recommenders train on.

A request carries one event or a batch of up to MAX_BATCH, and each event
is checked on its own. The valid ones are stored in one bulk insert. An
event whose id is already stored is acknowledged as a duplicate and not
stored again, and an invalid one is reported with its index, field and
reason.
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Item
from recommendations.models import Interaction, InteractionKind

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# Clocks of clients drift; an event further ahead than this is a bug.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Client ids are stored with this prefix, so that they do not collide with
# the importers' ids such as "movielens:196:242". MAX_EVENT_ID_LENGTH keeps
# the prefix plus the id within Interaction.event_id's 100 characters.
EVENT_ID_PREFIX = "api:"
# MariaDB and MySQL error ER_LOCK_DEADLOCK: the server rolled back the
# transaction to break a deadlock between concurrent inserts.
DEADLOCK_ERROR = 1213
DEADLOCK_ATTEMPTS = 3
MAX_EVENT_ID_LENGTH = 100 - len(EVENT_ID_PREFIX)
MAX_DB_ID = 2**63 - 1
EVENT_FIELDS = {"event_id", "user", "item", "kind", "value", "time"}
ADD_FOR_OTHERS_PERMISSION = "recommendations.add_interaction"
# Built once: InteractionKind.values builds a new list on every access.
KINDS = frozenset(InteractionKind.values)


class BatchError(ValueError):
    """The request as a whole is unusable; nothing in it was stored."""

    def __init__(self, field_name: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code


@dataclass(frozen=True)
class EventError:
    index: int
    field: str | None
    code: str
    message: str


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    errors: list[EventError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


class InvalidEvent(ValueError):
    def __init__(self, field_name: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code


def ingest_events(payload, actor, *, now: datetime | None = None) -> IngestResult:
    """Validate and store one event or a batch on behalf of the actor."""
    events = unpack_events(payload)
    now = now or timezone.now()
    result = IngestResult()
    rows: dict[int, Interaction] = {}
    for index, event in enumerate(events):
        try:
            rows[index] = parse_event(event, actor, now)
        except InvalidEvent as error:
            result.errors.append(EventError(index, error.field, error.code, str(error)))

    reject_unknown_references(rows, result)
    new_rows = drop_duplicates(rows, result)
    store_rows(new_rows, result)
    result.errors.sort(key=lambda error: error.index)
    logger.info(
        "Events from user %s: %s stored, %s duplicates, %s rejected",
        actor.pk,
        result.stored,
        result.duplicates,
        result.rejected,
    )
    return result


def unpack_events(payload) -> list:
    """Return the list of events in a single-event or {"events": [...]} body."""
    if not isinstance(payload, dict):
        raise BatchError(
            None,
            "invalid",
            'Send one event as a JSON object, or a batch as {"events": [...]}.',
        )
    if "events" not in payload:
        return [payload]

    events = payload["events"]
    if not isinstance(events, list):
        raise BatchError("events", "invalid", "events must be a list of event objects.")
    if not events:
        raise BatchError("events", "empty", "events is empty: send 1 to 1000 events.")
    if len(events) > MAX_BATCH:
        raise BatchError(
            "events",
            "max_length",
            f"A batch holds at most {MAX_BATCH} events and this one has "
            f"{len(events)}: split it into smaller batches.",
        )
    return events


def parse_event(event, actor, now: datetime) -> Interaction:
    """Check one event's fields and return the unsaved Interaction for it."""
    if not isinstance(event, dict):
        raise InvalidEvent(None, "invalid", "An event must be a JSON object.")
    unknown = sorted(set(event) - EVENT_FIELDS)
    if unknown:
        raise InvalidEvent(
            unknown[0],
            "unknown_field",
            f"Unknown field {unknown[0]!r}: an event has {sorted(EVENT_FIELDS)}.",
        )

    kind = parse_kind(event.get("kind"))
    return Interaction(
        event_id=EVENT_ID_PREFIX + parse_event_id(event.get("event_id")),
        user_id=parse_user(event.get("user"), actor),
        item_id=parse_id("item", event.get("item")),
        kind=kind,
        value=parse_value(event.get("value"), kind),
        occurred_at=parse_time(event.get("time"), now),
    )


def parse_event_id(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(
            "event_id",
            "required",
            "event_id is required: a non-empty string unique to this event.",
        )
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise InvalidEvent(
            "event_id",
            "max_length",
            f"event_id has {len(value)} characters; at most {MAX_EVENT_ID_LENGTH}.",
        )
    return value


def parse_id(name: str, value) -> int:
    if value is None:
        raise InvalidEvent(name, "required", f"{name} is required: an id number.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(name, "invalid", f"{name}={value!r} is not an integer id.")
    if not 1 <= value <= MAX_DB_ID:
        raise InvalidEvent(name, "does_not_exist", f"No {name} has id {value}.")
    return value


def parse_user(value, actor) -> int:
    """Return the event's user id; another user than the actor needs permission."""
    if value is None:
        return actor.pk
    user_id = parse_id("user", value)
    if user_id != actor.pk and not may_post_for_others(actor):
        raise InvalidEvent(
            "user",
            "permission_denied",
            f"You may post events only for yourself (user {actor.pk}); posting "
            f"for user {user_id} needs staff or the {ADD_FOR_OTHERS_PERMISSION} "
            "permission.",
        )
    return user_id


def may_post_for_others(actor) -> bool:
    return actor.is_staff or actor.has_perm(ADD_FOR_OTHERS_PERMISSION)


def parse_kind(value) -> str:
    if not isinstance(value, str) or value not in KINDS:
        raise InvalidEvent(
            "kind",
            "invalid_choice",
            f"kind={value!r} is not one of {InteractionKind.values}.",
        )
    return value


def parse_value(value, kind: str) -> float | None:
    if value is None:
        if kind == InteractionKind.RATING:
            raise InvalidEvent("value", "required", "A rating event needs a value.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent("value", "invalid", f"value={value!r} is not a number.")
    if not math.isfinite(value) or abs(value) > 1e9:
        raise InvalidEvent(
            "value", "invalid", f"value={value!r} must be finite and within ±1e9."
        )
    return float(value)


def parse_time(value, now: datetime) -> datetime:
    """Return an aware time; naive times are rejected rather than guessed."""
    if value is None:
        return now
    if not isinstance(value, str):
        raise InvalidEvent("time", "invalid", "time must be an ISO 8601 string.")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidEvent(
            "time",
            "invalid",
            f"time={value!r} is not an ISO 8601 date-time such as "
            "2026-01-31T12:00:00Z.",
        )
    if timezone.is_naive(parsed):
        raise InvalidEvent(
            "time",
            "naive_time",
            f"time={value!r} has no UTC offset: add Z or an offset such as +01:00.",
        )
    if parsed > now + MAX_CLOCK_SKEW:
        raise InvalidEvent(
            "time",
            "future_time",
            f"time={value!r} is more than {MAX_CLOCK_SKEW} ahead of the server's "
            f"clock ({now.isoformat()}): check the client's clock.",
        )
    return parsed


def reject_unknown_references(rows: dict[int, Interaction], result: IngestResult):
    """Drop events whose user or item does not exist, and report them."""
    user_ids = {row.user_id for row in rows.values()}
    item_ids = {row.item_id for row in rows.values()}
    known_users = set(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .values_list("pk", flat=True)
    )
    known_items = set(Item.objects.filter(pk__in=item_ids).values_list("pk", flat=True))
    for index, row in list(rows.items()):
        if row.user_id not in known_users:
            error = EventError(
                index, "user", "does_not_exist", f"No active user has id {row.user_id}."
            )
        elif row.item_id not in known_items:
            error = EventError(
                index, "item", "does_not_exist", f"No item has id {row.item_id}."
            )
        else:
            continue
        result.errors.append(error)
        del rows[index]


def drop_duplicates(rows: dict[int, Interaction], result: IngestResult):
    """Return the rows whose event id is neither stored nor earlier in the batch."""
    stored_ids = set(
        Interaction.objects.filter(
            event_id__in=[row.event_id for row in rows.values()]
        ).values_list("event_id", flat=True)
    )
    new_rows = []
    for index, row in rows.items():
        if row.event_id in stored_ids:
            result.duplicates += 1
        else:
            stored_ids.add(row.event_id)
            new_rows.append((index, row))
    return new_rows


def store_rows(rows: list[tuple[int, Interaction]], result: IngestResult) -> None:
    """Insert rows in one statement; on a conflict, insert them one by one.

    A conflict means another request stored one of these event ids after
    the duplicate check, or that MariaDB or MySQL rolled the insert back to
    break a deadlock between two such requests. Row by row, each row that
    then conflicts is counted as a duplicate and every other row is still
    stored.
    """
    if not rows:
        return
    try:
        with transaction.atomic():
            Interaction.objects.bulk_create([row for _, row in rows])
        result.stored += len(rows)
        return
    except IntegrityError:
        logger.info("Concurrent duplicate in a batch of %s events", len(rows))
    except OperationalError as error:
        if not retryable(error):
            raise
        logger.info("Deadlock storing a batch of %s events: %s", len(rows), error)
    for index, row in rows:
        store_one(index, row, result)


def store_one(index: int, row: Interaction, result: IngestResult) -> None:
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        row.pk = None
        try:
            with transaction.atomic():
                Interaction.objects.bulk_create([row])
            result.stored += 1
            return
        except IntegrityError:
            if Interaction.objects.filter(event_id=row.event_id).exists():
                result.duplicates += 1
                return
            break
        except OperationalError as error:
            if not retryable(error):
                raise
            logger.info(
                "Deadlock storing event %s, attempt %s of %s",
                row.event_id,
                attempt,
                DEADLOCK_ATTEMPTS,
            )

    logger.warning(
        "Event %s of user %s on item %s failed to insert",
        row.event_id,
        row.user_id,
        row.item_id,
    )
    result.errors.append(
        EventError(
            index, None, "conflict", f"Event {row.event_id} failed to store: retry."
        )
    )


def retryable(error: OperationalError) -> bool:
    """Return whether the error is a deadlock that rolled back only this insert.

    The server rolls back the whole transaction, so the insert can be tried
    again only when no outer transaction was running around it.
    """
    code = error.args[0] if error.args else None
    return code == DEADLOCK_ERROR and not transaction.get_connection().in_atomic_block
