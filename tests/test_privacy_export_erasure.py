"""Export and erasure of one user's data: complete, own only, and final."""

import json
from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import personal_data
from accounts.consent import record_consent
from accounts.models import (
    ConsentEvent,
    ConsentSource,
    ErasureActor,
    ErasureRecord,
    Profile,
    Purpose,
    User,
)
from accounts.roles import MARKETING, PRIVACY_OFFICER
from accounts.services import erase_user, export_user_data
from recommendations.dataset import load_interaction_data
from recommendations.models import Interaction, UserRecommendations

EXPORT_URL = "/api/v1/me/export/"
ERASE_URL = "/api/v1/me/erase/"


@pytest.fixture(autouse=True)
def empty_cache():
    """Throttle counters live in the cache; start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def imported_user(trained_slice):
    """A MovieLens user with a profile, ratings, consent and a top list."""
    user = User.objects.get(external_id="movielens:1")
    record_consent(user, Purpose.EMAIL, True, ConsentSource.PREFERENCES)
    return user


def staff_member(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.mark.django_db
def test_export_holds_every_section(imported_user):
    document = export_user_data(imported_user)

    sections = document["sections"]
    assert set(sections) >= {
        "user",
        "profile",
        "consents",
        "interactions",
        "recommendations",
    }
    assert sections["user"][0]["username"] == imported_user.username
    assert sections["profile"][0]["occupation"] == "technician"
    assert len(sections["consents"]) == imported_user.consent_events.count()
    assert len(sections["interactions"]) == imported_user.interactions.count()
    assert len(sections["recommendations"][0]["items"]) > 0


@pytest.mark.django_db
def test_export_holds_only_own_interactions(imported_user):
    document = export_user_data(imported_user)

    exported = sorted(
        (row["item_id"], row["occurred_at"])
        for row in document["sections"]["interactions"]
    )
    own = sorted(
        (item_id, occurred_at.isoformat())
        for item_id, occurred_at in Interaction.objects.filter(
            user=imported_user
        ).values_list("item_id", "occurred_at")
    )
    assert exported == own
    assert document["user_id"] == imported_user.pk


@pytest.mark.django_db
def test_export_api_returns_the_requesting_users_data(api_client):
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    record_consent(bob, Purpose.EMAIL, True, ConsentSource.API)
    api_client.force_authenticate(alice)

    response = api_client.get(EXPORT_URL)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user_id"] == alice.pk
    assert response.json()["sections"]["consents"] == []
    assert response.json()["sections"]["user"][0]["username"] == "alice"


@pytest.mark.django_db
def test_export_api_is_throttled(api_client):
    api_client.force_authenticate(User.objects.create_user("eager"))

    statuses = [api_client.get(EXPORT_URL).status_code for _ in range(11)]

    assert statuses[:10] == [HTTPStatus.OK] * 10
    assert statuses[10] == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_export_page_downloads_json(client):
    user = User.objects.create_user("carol", password="pw")
    client.force_login(user)

    response = client.get(reverse("account-export"))

    assert response.status_code == HTTPStatus.OK
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["sections"]["user"][0]["username"] == "carol"


@pytest.mark.django_db
def test_erasure_removes_rows_and_keeps_anonymous_record(imported_user):
    user_id = imported_user.pk
    username = imported_user.username
    interactions = imported_user.interactions.count()
    assert UserRecommendations.objects.filter(user_id=user_id).exists()

    record = erase_user(imported_user)

    assert not User.objects.filter(pk=user_id).exists()
    assert not Profile.objects.filter(user_id=user_id).exists()
    assert not ConsentEvent.objects.filter(user_id=user_id).exists()
    assert not Interaction.objects.filter(user_id=user_id).exists()
    assert not UserRecommendations.objects.filter(user_id=user_id).exists()
    assert record.counts["interactions"] == interactions
    assert record.counts["recommendations"] == 1
    assert record.requested_by == ErasureActor.SELF
    stored = json.dumps(
        list(ErasureRecord.objects.values("reference", "counts", "requested_by"))
    )
    assert username not in stored
    assert str(user_id) != record.reference


@pytest.mark.django_db
def test_erased_user_leaves_next_training_snapshot(imported_user):
    user_id = imported_user.pk
    other_users = User.objects.exclude(pk=user_id).count()
    assert user_id in load_interaction_data().user_ids

    erase_user(imported_user)

    snapshot = load_interaction_data()
    assert user_id not in snapshot.user_ids
    assert len(snapshot.user_ids) == other_users


@pytest.mark.django_db
def test_erasure_leaves_other_users_alone():
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    record_consent(bob, Purpose.PERSONALIZATION, True, ConsentSource.API)

    erase_user(alice)

    assert User.objects.filter(pk=bob.pk).exists()
    assert ConsentEvent.objects.filter(user=bob).count() == 1


@pytest.mark.django_db
def test_erase_api_needs_confirmation(api_client):
    user = User.objects.create_user("dave")
    api_client.force_authenticate(user)

    response = api_client.post(ERASE_URL, {"confirm": False}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "confirm" in response.json()
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db
def test_erase_api_deletes_account_and_token(api_client):
    user = User.objects.create_user("erin")
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.post(ERASE_URL, {"confirm": True}, format="json")
    after = api_client.get(EXPORT_URL)

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["reference"]) == 64
    assert not User.objects.filter(pk=user.pk).exists()
    assert after.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_erase_page_asks_for_confirmation_first(client):
    user = User.objects.create_user("frank", password="pw")
    client.force_login(user)

    page = client.get(reverse("account-erase"))
    unconfirmed = client.post(reverse("account-erase"), {})

    assert page.status_code == HTTPStatus.OK
    assert b'name="confirm"' in page.content
    assert b"checked" not in page.content
    assert unconfirmed.status_code == HTTPStatus.OK
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db
def test_erase_page_erases_and_signs_out(client):
    user = User.objects.create_user("grace", password="pw")
    client.force_login(user)

    response = client.post(reverse("account-erase"), {"confirm": "on"})

    assert response.status_code == HTTPStatus.OK
    assert ErasureRecord.objects.get().reference.encode() in response.content
    assert not User.objects.filter(pk=user.pk).exists()
    assert "_auth_user_id" not in client.session


def changelist_action(client, action: str, users: list[User], **extra):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {
            "action": action,
            "_selected_action": [user.pk for user in users],
            **extra,
        },
    )


@pytest.mark.django_db
def test_admin_export_action_is_logged_with_staff_user(client):
    officer = staff_member("officer", PRIVACY_OFFICER)
    target = User.objects.create_user("heidi")
    client.force_login(officer)

    response = changelist_action(client, "export_personal_data", [target])

    assert response.status_code == HTTPStatus.OK
    exported = json.loads(response.content)["users"]
    assert [doc["user_id"] for doc in exported] == [target.pk]
    entry = LogEntry.objects.get(object_id=str(target.pk))
    assert entry.user == officer
    assert entry.get_change_message() == "Exported personal data."


@pytest.mark.django_db
def test_admin_erase_action_confirms_then_erases(client):
    officer = staff_member("officer", PRIVACY_OFFICER)
    target = User.objects.create_user("ivan")
    client.force_login(officer)

    confirmation = changelist_action(client, "erase_personal_data", [target])
    still_there = User.objects.filter(pk=target.pk).exists()
    changelist_action(client, "erase_personal_data", [target], confirm="yes")

    assert b"Yes, erase" in confirmation.content
    assert still_there
    assert not User.objects.filter(pk=target.pk).exists()
    record = ErasureRecord.objects.get()
    assert record.performed_by == officer
    assert record.requested_by == ErasureActor.STAFF
    entry = LogEntry.objects.get(object_id=str(record.pk))
    assert entry.user == officer
    assert "ivan" not in entry.object_repr


@pytest.mark.django_db
def test_marketing_staff_cannot_export_or_erase(client):
    marketer = staff_member("marketer", MARKETING)
    # Let them open the user list, so that only the action permissions differ.
    marketer.user_permissions.add(
        Permission.objects.get(codename="view_user", content_type__app_label="accounts")
    )
    target = User.objects.create_user("judy")
    client.force_login(marketer)

    export = changelist_action(client, "export_personal_data", [target])
    erase = changelist_action(client, "erase_personal_data", [target], confirm="yes")

    assert export.get("Content-Disposition") is None
    assert User.objects.filter(pk=target.pk).exists()
    assert erase.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}
    assert not ErasureRecord.objects.exists()


def test_registering_a_taken_section_name_fails():
    with pytest.raises(ValueError, match="'interactions' is already registered"):
        personal_data.register(
            "interactions", export=lambda user: [], erase=lambda user: 0
        )


@pytest.mark.django_db
def test_admin_offers_no_plain_user_deletion(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    target = User.objects.create_user("kate")

    page = client.get(reverse("admin:accounts_user_delete", args=[target.pk]))
    changelist_action(client, "delete_selected", [target], post="yes")

    assert page.status_code == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk=target.pk).exists()
