"""The consent API, and a withdrawal taking effect on the very next request."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from accounts.consent import record_consent
from accounts.models import ConsentSource, ErasureRecord, Purpose, User
from accounts.roles import MARKETING, PRIVACY_OFFICER
from accounts.services import erase_user

CONSENTS = "/api/v1/me/consents/"
RECOMMENDATIONS = "/api/v1/me/recommendations/"
ALL_GRANTED = dict.fromkeys(Purpose.values, True)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return User.objects.create_user("paula")


def staff_member(username: str, role: str) -> User:
    member = User.objects.create_user(username, is_staff=True)
    member.groups.add(Group.objects.get(name=role))
    return member


def test_get_lists_every_purpose_undecided(api_client, user):
    api_client.force_authenticate(user)

    body = api_client.get(CONSENTS).json()

    assert [entry["purpose"] for entry in body["consents"]] == Purpose.values
    assert not any(entry["granted"] for entry in body["consents"])
    assert body["needs_reconsent"] == []


def test_put_grants_with_source_api(api_client, user):
    api_client.force_authenticate(user)

    response = api_client.put(CONSENTS, ALL_GRANTED, format="json")

    assert response.status_code == HTTPStatus.OK
    assert all(entry["effective"] for entry in response.json()["consents"])
    assert set(user.consent_events.values_list("source", flat=True)) == {"api"}


def test_put_without_a_purpose_names_it(api_client, user):
    api_client.force_authenticate(user)

    response = api_client.put(CONSENTS, {"email": True}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"personalization", "analytics"}
    assert not user.consent_events.exists()


def test_put_with_a_replaced_policy_version_fails(api_client, user):
    api_client.force_authenticate(user)

    response = api_client.put(
        CONSENTS, {**ALL_GRANTED, "policy_version": "1999-01"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "1999-01" in response.json()["policy_version"][0]
    assert not user.consent_events.exists()


@pytest.mark.django_db
def test_withdrawal_applies_to_the_next_request(api_client, trained_slice):
    user = User.objects.get(external_id="movielens:1")
    api_client.force_authenticate(user)
    before = api_client.get(RECOMMENDATIONS).json()

    api_client.put(
        CONSENTS,
        {"personalization": False, "email": False, "analytics": False},
        format="json",
    )
    after = api_client.get(RECOMMENDATIONS).json()

    assert before["personalized"] is True
    assert after["personalized"] is False
    assert {item["source"] for item in after["items"]} <= {"popular"}


@pytest.mark.django_db
def test_grant_applies_to_the_next_request(api_client, trained_slice):
    user = User.objects.get(external_id="movielens:2")
    record_consent(user, Purpose.PERSONALIZATION, False, ConsentSource.PREFERENCES)
    api_client.force_authenticate(user)
    before = api_client.get(RECOMMENDATIONS).json()

    api_client.put(CONSENTS, ALL_GRANTED, format="json")
    after = api_client.get(RECOMMENDATIONS).json()

    assert before["personalized"] is False
    assert after["personalized"] is True


def test_own_consent_history_by_id(api_client, user):
    record_consent(user, Purpose.EMAIL, True, ConsentSource.API)
    record_consent(user, Purpose.EMAIL, False, ConsentSource.UNSUBSCRIBE)
    api_client.force_authenticate(user)

    response = api_client.get(f"/api/v1/users/{user.pk}/consents/")

    assert response.status_code == HTTPStatus.OK
    assert [event["source"] for event in response.json()["history"]] == [
        "unsubscribe",
        "api",
    ]


def test_another_users_history_is_not_found(api_client, user):
    other = User.objects.create_user("quinn")
    api_client.force_authenticate(other)

    response = api_client.get(f"/api/v1/users/{user.pk}/consents/")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_privacy_officer_reads_any_history(api_client, user):
    api_client.force_authenticate(staff_member("officer", PRIVACY_OFFICER))

    response = api_client.get(f"/api/v1/users/{user.pk}/consents/")
    missing = api_client.get("/api/v1/users/999999/consents/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user_id"] == user.pk
    assert missing.status_code == HTTPStatus.NOT_FOUND


def test_marketing_staff_cannot_read_history(api_client, user):
    api_client.force_authenticate(staff_member("marketer", MARKETING))

    response = api_client.get(f"/api/v1/users/{user.pk}/consents/")

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_erasure_log_pages_are_capped(api_client, settings):
    for index in range(55):
        erase_user(User.objects.create_user(f"gone-{index}"))
    api_client.force_authenticate(staff_member("officer", PRIVACY_OFFICER))

    body = api_client.get("/api/v1/privacy/erasures/?page_size=500").json()

    assert body["count"] == ErasureRecord.objects.count()
    assert len(body["results"]) == settings.REST_FRAMEWORK["PAGE_SIZE"]
    assert "username" not in body["results"][0]


def test_erasure_log_is_for_privacy_staff_only(api_client, user):
    api_client.force_authenticate(staff_member("marketer", MARKETING))

    response = api_client.get("/api/v1/privacy/erasures/")

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_recommendations_are_throttled(api_client, user):
    api_client.force_authenticate(user)

    statuses = [api_client.get(RECOMMENDATIONS).status_code for _ in range(121)]

    assert statuses[:120] == [HTTPStatus.OK] * 120
    assert statuses[120] == HTTPStatus.TOO_MANY_REQUESTS
