"""The self-service privacy page: nothing ticked by default, easy to change."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.consent import DEFAULT_WORDING, has_consent
from accounts.models import ConsentEvent, ConsentSource, PolicyVersion, Purpose, User
from accounts.policy import current_policy_version, publish_policy

PAGE = "/account/privacy/"


@pytest.fixture
def user_client(client, db):
    user = User.objects.create_user("olga", password="pw")
    client.force_login(user)
    client.user = user
    return client


def form_data(**ticked: bool) -> dict:
    data = {"policy_version": current_policy_version()}
    data.update({f"consent_{purpose}": "on" for purpose, on in ticked.items() if on})
    return data


def test_page_url_is_account_privacy():
    assert reverse("account-privacy") == PAGE


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(PAGE)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


def test_new_user_sees_no_ticked_box(user_client):
    response = user_client.get(PAGE)

    assert response.status_code == HTTPStatus.OK
    for purpose in Purpose.values:
        assert f'name="consent_{purpose}"'.encode() in response.content
    assert b"checked" not in response.content
    assert not ConsentEvent.objects.exists()


def test_ticking_a_box_records_the_wording_shown(user_client):
    page = user_client.get(PAGE)

    user_client.post(PAGE, form_data(personalization=True))

    event = ConsentEvent.objects.get(purpose=Purpose.PERSONALIZATION)
    assert event.granted is True
    assert event.source == ConsentSource.PREFERENCES
    assert event.wording == DEFAULT_WORDING[Purpose.PERSONALIZATION]
    assert event.wording.encode() in page.content
    assert event.policy_version == current_policy_version()


def test_first_save_records_declined_purposes(user_client):
    user_client.post(PAGE, form_data(personalization=True))

    declined = ConsentEvent.objects.filter(granted=False)
    assert sorted(declined.values_list("purpose", flat=True)) == ["analytics", "email"]


def test_saving_unchanged_choices_records_nothing(user_client):
    user_client.post(PAGE, form_data(email=True))
    count = ConsentEvent.objects.count()

    user_client.post(PAGE, form_data(email=True))

    assert ConsentEvent.objects.count() == count


def test_unticking_withdraws(user_client):
    user_client.post(PAGE, form_data(email=True))
    assert has_consent(user_client.user, Purpose.EMAIL)

    user_client.post(PAGE, form_data(email=False))

    assert not has_consent(user_client.user, Purpose.EMAIL)


def test_granted_purpose_shows_ticked(user_client):
    user_client.post(PAGE, form_data(analytics=True))

    response = user_client.get(PAGE)

    assert response.content.count(b"checked") == 1
    assert b'name="consent_analytics" id="id_consent_analytics" checked' in (
        response.content
    )


def test_form_from_a_replaced_version_records_nothing(user_client):
    stale = form_data(email=True)
    draft = PolicyVersion.objects.create(version="2027-01")
    publish_policy(draft, published_by=None)

    response = user_client.post(PAGE, stale)

    assert response.status_code == HTTPStatus.OK
    assert b"no longer current" in response.content
    assert not ConsentEvent.objects.exists()


def test_save_returns_to_next_page(user_client):
    response = user_client.post(PAGE, {**form_data(), "next": "/for-you/"})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/for-you/"


def test_next_to_another_site_is_ignored(user_client):
    response = user_client.post(PAGE, {**form_data(), "next": "https://evil.test/"})

    assert response["Location"] == PAGE


def signup_data(**ticked: bool) -> dict:
    return {
        "username": "rosa",
        "email": "rosa@example.test",
        "password1": "a-long-pass-phrase",
        "password2": "a-long-pass-phrase",
        **form_data(**ticked),
    }


@pytest.mark.django_db
def test_signup_page_has_no_ticked_box(client):
    response = client.get(reverse("account-signup"))

    assert response.status_code == HTTPStatus.OK
    for purpose in Purpose.values:
        assert f'name="consent_{purpose}"'.encode() in response.content
    assert b"checked" not in response.content


@pytest.mark.django_db
def test_signup_grants_only_ticked_purposes(client):
    response = client.post(reverse("account-signup"), signup_data(email=True))

    user = User.objects.get(username="rosa")
    assert response.status_code == HTTPStatus.FOUND
    assert has_consent(user, Purpose.EMAIL)
    assert not has_consent(user, Purpose.PERSONALIZATION)
    assert not has_consent(user, Purpose.ANALYTICS)
    assert set(user.consent_events.values_list("source", flat=True)) == {"signup"}


@pytest.mark.django_db
def test_signup_on_a_replaced_version_creates_nothing(client):
    stale = signup_data(email=True)
    publish_policy(PolicyVersion.objects.create(version="2027-01"), published_by=None)

    response = client.post(reverse("account-signup"), stale)

    assert response.status_code == HTTPStatus.OK
    assert b"no longer current" in response.content
    assert not User.objects.filter(username="rosa").exists()
