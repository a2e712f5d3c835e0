"""The consent log is append-only: in the ORM and in every admin view."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.consent import record_consent
from accounts.models import ConsentEvent, ConsentSource, Purpose, User


@pytest.fixture
def event(db):
    user = User.objects.create_user("kim")
    return record_consent(user, Purpose.PERSONALIZATION, True, ConsentSource.SIGNUP)


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def test_saved_event_cannot_be_saved_again(event):
    event.granted = False

    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_event_cannot_be_deleted(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()


def test_queryset_update_and_delete_fail(event):
    events = ConsentEvent.objects.filter(pk=event.pk)

    with pytest.raises(TypeError, match="cannot be updated"):
        events.update(granted=False)
    with pytest.raises(TypeError, match="cannot be deleted"):
        events.delete()


def test_admin_add_view_is_forbidden(superuser_client):
    response = superuser_client.get(reverse("admin:accounts_consentevent_add"))

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_admin_change_post_leaves_event_unchanged(superuser_client, event):
    url = reverse("admin:accounts_consentevent_change", args=[event.pk])

    superuser_client.post(url, {"granted": "", "purpose": Purpose.EMAIL})

    stored = ConsentEvent.objects.get(pk=event.pk)
    assert stored.granted is True
    assert stored.purpose == Purpose.PERSONALIZATION


def test_admin_change_page_has_no_inputs(superuser_client, event):
    url = reverse("admin:accounts_consentevent_change", args=[event.pk])

    response = superuser_client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert b'name="granted"' not in response.content
    assert b'name="_save"' not in response.content


def test_admin_delete_view_is_forbidden(superuser_client, event):
    url = reverse("admin:accounts_consentevent_delete", args=[event.pk])

    response = superuser_client.post(url, {"post": "yes"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert ConsentEvent.objects.filter(pk=event.pk).exists()


def test_admin_bulk_delete_is_not_offered(superuser_client, event):
    changelist = reverse("admin:accounts_consentevent_changelist")

    superuser_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert ConsentEvent.objects.filter(pk=event.pk).exists()


def test_user_page_shows_history_without_inputs(superuser_client, event):
    url = reverse("admin:accounts_user_change", args=[event.user_id])

    response = superuser_client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert b"consent_events-TOTAL_FORMS" in response.content
    assert b'name="consent_events-0-granted"' not in response.content
    assert b'name="consent_events-0-DELETE"' not in response.content
    assert b'consent_events-MAX_NUM_FORMS" value="0"' in response.content
