"""Policy versions: publishing requests re-consent; e-mail grants lapse."""

from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.consent import (
    current_consents,
    has_consent,
    needs_reconsent,
    record_consent,
    update_consents,
    users_with_consent,
)
from accounts.models import ConsentSource, PolicyVersion, Purpose, User
from accounts.policy import current_policy_version, publish_policy
from accounts.roles import PRIVACY_OFFICER


def publish(version: str, requires_reconsent: bool = True) -> PolicyVersion:
    draft = PolicyVersion.objects.create(
        version=version, requires_reconsent=requires_reconsent
    )
    return publish_policy(draft, published_by=None)


@pytest.fixture
def subscriber(db):
    """A user who granted personalization and e-mail and refused analytics."""
    user = User.objects.create_user("lena", password="pw")
    update_consents(
        user,
        {Purpose.PERSONALIZATION: True, Purpose.EMAIL: True, Purpose.ANALYTICS: False},
        ConsentSource.SIGNUP,
    )
    return user


@pytest.mark.django_db
def test_settings_version_is_the_fallback(settings):
    settings.ATTUNE_POLICY_VERSION = "2025-07"
    user = User.objects.create_user("max")

    event = record_consent(user, Purpose.EMAIL, True, ConsentSource.API)

    assert current_policy_version() == "2025-07"
    assert event.policy_version == "2025-07"


@pytest.mark.django_db
def test_published_version_replaces_the_fallback():
    publish("2027-01")
    user = User.objects.create_user("nina")

    event = record_consent(user, Purpose.EMAIL, True, ConsentSource.API)

    assert event.policy_version == "2027-01"


def test_new_version_asks_again_for_grants(subscriber):
    assert needs_reconsent(subscriber) == []

    publish("2027-01")

    assert needs_reconsent(subscriber) == [Purpose.PERSONALIZATION, Purpose.EMAIL]


def test_outdated_personalization_grant_still_counts(subscriber):
    publish("2027-01")

    assert has_consent(subscriber, Purpose.PERSONALIZATION)
    assert subscriber.pk in users_with_consent(Purpose.PERSONALIZATION)


def test_outdated_email_grant_stops_counting(subscriber):
    publish("2027-01")

    assert not has_consent(subscriber, Purpose.EMAIL)
    assert subscriber.pk not in users_with_consent(Purpose.EMAIL)


def test_granting_again_brings_grant_up_to_date(subscriber):
    publish("2027-01")

    recorded = update_consents(
        subscriber,
        {Purpose.PERSONALIZATION: True, Purpose.EMAIL: True},
        ConsentSource.PREFERENCES,
        policy_version="2027-01",
    )

    assert [event.policy_version for event in recorded] == ["2027-01", "2027-01"]
    assert needs_reconsent(subscriber) == []
    assert has_consent(subscriber, Purpose.EMAIL)


def test_minor_version_keeps_grants_current(subscriber):
    publish("2027-01", requires_reconsent=False)

    assert current_policy_version() == "2027-01"
    assert needs_reconsent(subscriber) == []
    assert has_consent(subscriber, Purpose.EMAIL)


def test_later_minor_version_keeps_major_cutoff(subscriber):
    publish("2027-01")
    update_consents(subscriber, {Purpose.EMAIL: True}, ConsentSource.PREFERENCES)
    publish("2027-02", requires_reconsent=False)

    assert has_consent(subscriber, Purpose.EMAIL)
    assert needs_reconsent(subscriber) == [Purpose.PERSONALIZATION]


def test_decision_on_a_replaced_version_is_rejected(subscriber):
    publish("2027-01")
    before = subscriber.consent_events.count()

    with pytest.raises(ValueError, match="2026-01 is no longer current"):
        update_consents(
            subscriber,
            {Purpose.EMAIL: True},
            ConsentSource.PREFERENCES,
            policy_version="2026-01",
        )

    assert subscriber.consent_events.count() == before


@pytest.mark.django_db
def test_publishing_twice_fails():
    policy = publish("2027-01")

    with pytest.raises(ValueError, match="already published"):
        publish_policy(policy, published_by=None)


def test_next_page_view_redirects_to_privacy_page_once(client, subscriber):
    client.force_login(subscriber)
    publish("2027-01")

    first = client.get("/for-you/")
    second = client.get("/for-you/")

    assert first.status_code == HTTPStatus.FOUND
    assert first["Location"] == "/account/privacy/?next=%2Ffor-you%2F"
    assert second.status_code == HTTPStatus.OK


def test_api_requests_are_not_redirected(api_client, subscriber):
    api_client.force_authenticate(subscriber)
    publish("2027-01")

    response = api_client.get("/api/v1/me/consents/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["needs_reconsent"] == ["personalization", "email"]


def test_privacy_page_leaves_outdated_grants_unticked(client, subscriber):
    client.force_login(subscriber)
    publish("2027-01")

    response = client.get(reverse("account-privacy"))

    assert b'id="reconsent"' in response.content
    assert b"checked" not in response.content


@pytest.mark.django_db
def test_admin_publish_action_is_logged(client):
    officer = User.objects.create_user("officer", is_staff=True)
    officer.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    draft = PolicyVersion.objects.create(version="2027-01")
    client.force_login(officer)

    client.post(
        reverse("admin:accounts_policyversion_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )

    draft.refresh_from_db()
    assert draft.published_by == officer
    assert current_policy_version() == "2027-01"
    assert LogEntry.objects.get(object_id=str(draft.pk)).user == officer


@pytest.mark.django_db
def test_published_version_cannot_be_edited_in_admin(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    policy = publish("2027-01")
    url = reverse("admin:accounts_policyversion_change", args=[policy.pk])

    client.post(url, {"version": "2099-01", "summary": "changed"})

    policy.refresh_from_db()
    assert policy.version == "2027-01"


def test_current_consents_match_has_consent(subscriber):
    publish("2027-01")

    assert current_consents(subscriber) == {
        purpose: has_consent(subscriber, purpose) for purpose in Purpose.values
    }
    assert current_consents(subscriber)[Purpose.PERSONALIZATION] is True
    assert current_consents(subscriber)[Purpose.EMAIL] is False
