"""Consent state on the admin user list, and the staff roles."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.consent import record_consent
from accounts.models import ConsentSource, PolicyVersion, Purpose, User
from accounts.policy import publish_policy
from accounts.roles import MARKETING, PRIVACY_OFFICER

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def officer_client(client, db):
    officer = User.objects.create_user("officer", is_staff=True)
    officer.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    client.force_login(officer)
    return client


def make_users(count: int, start: int = 0) -> list[User]:
    """Users cycling through granted, withdrawn and never-asked e-mail consent."""
    users = []
    for index in range(start, start + count):
        user = User.objects.create_user(f"user-{index:03d}")
        if index % 3 == 0:
            record_consent(user, Purpose.EMAIL, True, ConsentSource.API)
        elif index % 3 == 1:
            record_consent(user, Purpose.EMAIL, True, ConsentSource.API)
            record_consent(user, Purpose.EMAIL, False, ConsentSource.UNSUBSCRIBE)
        users.append(user)
    return users


def listed_usernames(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


def test_changelist_url():
    assert reverse("admin:accounts_user_changelist") == CHANGELIST


def test_consent_columns_show_latest_decision(officer_client):
    granted, withdrawn, never = make_users(3)

    response = officer_client.get(CHANGELIST)

    rows = {user.username: user for user in response.context["cl"].result_list}
    assert rows[granted.username].consent_email is True
    assert rows[withdrawn.username].consent_email is False
    assert rows[never.username].consent_email is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("granted", {"user-000"}), ("withdrawn", {"user-001"}), ("never", {"user-002"})],
)
def test_consent_filter(officer_client, value, expected):
    make_users(3)

    response = officer_client.get(CHANGELIST, {"consent_email": value})

    assert listed_usernames(response) - {"officer"} == expected


def test_needs_reconsent_filter(officer_client):
    make_users(3)
    publish_policy(PolicyVersion.objects.create(version="2027-01"), published_by=None)
    regranted = User.objects.get(username="user-000")
    record_consent(regranted, Purpose.EMAIL, True, ConsentSource.PREFERENCES)
    old_grant = User.objects.create_user("user-100")
    record_consent(
        old_grant, Purpose.EMAIL, True, ConsentSource.API, policy_version="2026-01"
    )

    response = officer_client.get(CHANGELIST, {"needs_reconsent": "yes"})

    assert listed_usernames(response) == {"user-100"}


def test_changelist_query_count_does_not_grow_with_users(officer_client):
    make_users(3)
    with CaptureQueriesContext(connection) as few:
        officer_client.get(CHANGELIST)
    make_users(27, start=3)

    with CaptureQueriesContext(connection) as many:
        response = officer_client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 31
    assert len(many) == len(few)


@pytest.mark.django_db
def test_roles_exist_with_their_permissions():
    marketing = Group.objects.get(name=MARKETING)
    officer = Group.objects.get(name=PRIVACY_OFFICER)

    marketing_codenames = set(marketing.permissions.values_list("codename", flat=True))
    officer_codenames = set(officer.permissions.values_list("codename", flat=True))
    assert "view_item" in marketing_codenames
    assert "export_personal_data" not in marketing_codenames
    assert "view_user" not in marketing_codenames
    assert "view_consentevent" not in marketing_codenames
    assert {"export_personal_data", "erase_personal_data"} <= officer_codenames
    assert "view_consentevent" in officer_codenames


@pytest.mark.django_db
def test_marketing_staff_cannot_open_the_user_list(client):
    marketer = User.objects.create_user("marketer", is_staff=True)
    marketer.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(marketer)

    response = client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.FORBIDDEN
