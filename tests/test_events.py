"""Event ingestion: batches, duplicates, invalid events and concurrent batches."""

import threading
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Item, ItemKind
from recommendations.events import (
    DEADLOCK_ATTEMPTS,
    EVENT_ID_PREFIX,
    MAX_BATCH,
    ingest_events,
)
from recommendations.models import Interaction

URL = "/api/v1/events/"


@pytest.fixture
def user(db):
    return User.objects.create_user("ada", password="pw-ada-123")


@pytest.fixture
def other_user(db):
    return User.objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def items(db):
    return [
        Item.objects.create(kind=ItemKind.PRODUCT, title=f"Item {i}") for i in range(3)
    ]


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def event(item, event_id, **fields):
    return {"event_id": event_id, "item": item.pk, "kind": "view", **fields}


def stored_ids() -> set[str]:
    return set(Interaction.objects.values_list("event_id", flat=True))


def test_single_event_is_stored_for_caller(client, user, items):
    response = client.post(URL, event(items[0], "e1"), format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "stored": 1,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    interaction = Interaction.objects.get()
    assert interaction.user_id == user.pk
    assert interaction.event_id == EVENT_ID_PREFIX + "e1"


def test_batch_fields_are_stored(client, user, items):
    when = "2026-01-31T12:00:00+01:00"
    body = {"events": [event(items[1], "r1", kind="rating", value=4, time=when)]}

    client.post(URL, body, format="json")

    interaction = Interaction.objects.get()
    assert interaction.kind == "rating"
    assert interaction.value == 4.0
    assert interaction.item_id == items[1].pk
    assert interaction.occurred_at.isoformat() == "2026-01-31T11:00:00+00:00"


def test_repeated_batch_counts_duplicates(client, items):
    body = {"events": [event(items[0], "a"), event(items[1], "b")]}
    client.post(URL, body, format="json")

    response = client.post(URL, body, format="json")

    assert response.json()["stored"] == 0
    assert response.json()["duplicates"] == 2
    assert Interaction.objects.count() == 2


def test_duplicate_within_batch_stored_once(client, items):
    body = {"events": [event(items[0], "same"), event(items[1], "same")]}

    response = client.post(URL, body, format="json")

    assert response.json()["stored"] == 1
    assert response.json()["duplicates"] == 1
    assert Interaction.objects.get().item_id == items[0].pk


def test_mixed_batch_keeps_valid_events(client, items):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {
        "events": [
            event(items[0], "ok-1"),
            event(items[0], "bad-kind", kind="teleport"),
            event(items[1], "ok-2", kind="like"),
            {"event_id": "no-item", "kind": "view"},
            event(items[2], "future", time=future),
            event(items[2], "ok-3", kind="purchase"),
        ]
    }

    response = client.post(URL, body, format="json")

    assert response.status_code == HTTPStatus.MULTI_STATUS
    result = response.json()
    assert (result["stored"], result["duplicates"], result["rejected"]) == (3, 0, 3)
    assert [(e["index"], e["field"]) for e in result["errors"]] == [
        (1, "kind"),
        (3, "item"),
        (4, "time"),
    ]
    assert stored_ids() == {EVENT_ID_PREFIX + i for i in ("ok-1", "ok-2", "ok-3")}


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"item": "7"}, "item", "invalid"),
        ({"item": True}, "item", "invalid"),
        ({"item": 1.5}, "item", "invalid"),
        ({"event_id": 12}, "event_id", "required"),
        ({"event_id": ""}, "event_id", "required"),
        ({"event_id": "x" * 200}, "event_id", "max_length"),
        ({"kind": None}, "kind", "invalid_choice"),
        ({"kind": ["view"]}, "kind", "invalid_choice"),
        ({"value": "five"}, "value", "invalid"),
        ({"kind": "rating"}, "value", "required"),
        ({"time": 1700000000}, "time", "invalid"),
        ({"time": "yesterday"}, "time", "invalid"),
        ({"time": "2026-13-45T00:00:00Z"}, "time", "invalid"),
        ({"time": "2026-01-01T10:00:00"}, "time", "naive_time"),
        ({"user": "me"}, "user", "invalid"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_wrong_types_are_rejected_with_field(client, items, fields, field, code):
    body = {"events": [{**event(items[0], "e"), **fields}]}

    response = client.post(URL, body, format="json")

    error = response.json()["errors"][0]
    assert response.status_code == HTTPStatus.MULTI_STATUS
    assert (error["index"], error["field"], error["code"]) == (0, field, code)
    assert Interaction.objects.count() == 0


def test_non_object_event_is_rejected(client, items):
    response = client.post(URL, {"events": [event(items[0], "ok"), 42]}, format="json")

    assert response.json()["stored"] == 1
    assert response.json()["errors"][0]["index"] == 1


def test_far_future_time_rejected_near_future_kept(client, items):
    near = (timezone.now() + timedelta(minutes=1)).isoformat()
    far = (timezone.now() + timedelta(days=2)).isoformat()
    body = {
        "events": [event(items[0], "near", time=near), event(items[0], "far", time=far)]
    }

    response = client.post(URL, body, format="json")

    assert response.json()["errors"][0]["code"] == "future_time"
    assert stored_ids() == {EVENT_ID_PREFIX + "near"}


def test_unknown_user_and_item_rejected(client, items, user):
    staff = User.objects.create_user("staff", is_staff=True)
    client.force_authenticate(staff)
    body = {
        "events": [
            event(items[0], "u", user=999_999),
            {"event_id": "i", "item": 999_999, "kind": "view"},
            {"event_id": "huge", "item": 2**80, "kind": "view"},
        ]
    }

    response = client.post(URL, body, format="json")

    assert [e["code"] for e in response.json()["errors"]] == ["does_not_exist"] * 3
    assert Interaction.objects.count() == 0


def test_batch_over_limit_rejected_whole(client, items):
    body = {"events": [event(items[0], f"e{i}") for i in range(MAX_BATCH + 1)]}

    response = client.post(URL, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == "events"
    assert response.json()["errors"][0]["code"] == "max_length"
    assert Interaction.objects.count() == 0


def test_full_batch_of_limit_stored(client, items):
    body = {"events": [event(items[i % 3], f"e{i}") for i in range(MAX_BATCH)]}

    response = client.post(URL, body, format="json")

    assert response.json()["stored"] == MAX_BATCH
    assert Interaction.objects.count() == MAX_BATCH


@pytest.mark.parametrize("body", [[], {"events": []}, {"events": "x"}, "text"])
def test_malformed_envelope_is_400(client, body):
    response = client.post(URL, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["message"]


def test_anonymous_post_is_401(items):
    response = APIClient().post(URL, event(items[0], "x"), format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_event_for_other_user_needs_permission(client, items, other_user):
    response = client.post(URL, event(items[0], "x", user=other_user.pk), format="json")

    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert Interaction.objects.count() == 0


def test_event_for_other_user_with_permission(client, user, items, other_user):
    permission = Permission.objects.get(codename="add_interaction")
    user.user_permissions.add(permission)
    user = User.objects.get(pk=user.pk)
    client.force_authenticate(user)

    response = client.post(URL, event(items[0], "x", user=other_user.pk), format="json")

    assert response.json()["stored"] == 1
    assert Interaction.objects.get().user_id == other_user.pk


def test_event_for_self_by_id_allowed(client, user, items):
    response = client.post(URL, event(items[0], "x", user=user.pk), format="json")

    assert response.json()["stored"] == 1


def test_concurrent_duplicate_after_precheck_counted(user, items, monkeypatch):
    """A row stored by another request between the check and the insert."""
    from recommendations import events as events_module

    real_drop = events_module.drop_duplicates

    def drop_then_race(rows, result):
        new_rows = real_drop(rows, result)
        Interaction.objects.create(
            user=user,
            item=items[0],
            kind="view",
            occurred_at=timezone.now(),
            event_id=EVENT_ID_PREFIX + "b",
        )
        return new_rows

    monkeypatch.setattr(events_module, "drop_duplicates", drop_then_race)
    payload = {
        "events": [event(items[0], "a"), event(items[1], "b"), event(items[2], "c")]
    }

    result = ingest_events(payload, user)

    assert (result.stored, result.duplicates, result.rejected) == (2, 1, 0)
    assert stored_ids() == {EVENT_ID_PREFIX + i for i in "abc"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_store_each_event_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database locks whole tables")
    user = User.objects.create_user("racer")
    items = [Item.objects.create(kind=ItemKind.POST, title=f"P{i}") for i in range(5)]
    shared = [event(items[i % 5], f"shared-{i}") for i in range(200)]
    batches = [
        {"events": shared + [event(items[0], f"own-{n}-{i}") for i in range(50)]}
        for n in range(4)
    ]
    results = [None] * len(batches)
    errors = []
    barrier = threading.Barrier(len(batches))

    def run(n):
        barrier.wait()
        try:
            results[n] = ingest_events(batches[n], user)
        except Exception as error:  # noqa: BLE001  reported by the assert below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.stored for r in results) == 200 + 4 * 50
    assert sum(r.duplicates for r in results) == 3 * 200
    assert all(r.rejected == 0 for r in results)
    assert Interaction.objects.count() == 200 + 4 * 50


class DeadlockingInserts:
    """Make the first `failures` inserts of a given size fail as a deadlock does."""

    def __init__(self, monkeypatch, *, size: int | None, failures: int):
        self.real = Interaction.objects.bulk_create
        self.size = size
        self.failures = failures
        monkeypatch.setattr(Interaction.objects, "bulk_create", self)

    def __call__(self, rows, *args, **kwargs):
        rows = list(rows)
        if self.failures and (self.size is None or len(rows) == self.size):
            self.failures -= 1
            raise OperationalError(
                1213, "Deadlock found when trying to get lock; try restarting"
            )
        return self.real(rows, *args, **kwargs)


def three_events(items):
    return {
        "events": [event(items[0], "a"), event(items[1], "b"), event(items[2], "c")]
    }


@pytest.mark.django_db(transaction=True)
def test_deadlocked_batch_stored_per_row(user, items, monkeypatch):
    DeadlockingInserts(monkeypatch, size=3, failures=1)
    single = DeadlockingInserts(monkeypatch, size=1, failures=1)

    result = ingest_events(three_events(items), user)

    assert (result.stored, result.duplicates, result.rejected) == (3, 0, 0)
    assert stored_ids() == {EVENT_ID_PREFIX + i for i in "abc"}
    assert single.failures == 0


@pytest.mark.django_db(transaction=True)
def test_always_deadlocked_event_rejected(user, items, monkeypatch):
    DeadlockingInserts(monkeypatch, size=None, failures=1 + DEADLOCK_ATTEMPTS)

    result = ingest_events(three_events(items), user)

    assert (result.stored, result.rejected) == (2, 1)
    assert result.errors[0].code == "conflict"
    assert stored_ids() == {EVENT_ID_PREFIX + i for i in "bc"}


def test_deadlock_in_transaction_raised(user, items, monkeypatch):
    # The server rolled back the caller's whole transaction, so nothing may
    # be retried inside it.
    DeadlockingInserts(monkeypatch, size=3, failures=1)

    with pytest.raises(OperationalError):
        ingest_events(three_events(items), user)
