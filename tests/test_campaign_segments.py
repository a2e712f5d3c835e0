"""Segment rules evaluated as querysets, and the admin's live preview."""

import json
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.consent import record_consent
from accounts.models import ConsentSource, Purpose, User
from campaigns.models import Match, RuleKind, Segment, SegmentRule
from campaigns.segments import users_matching
from campaigns.testing import add_interactions, make_catalog, make_user
from recommendations.models import InteractionKind

pytestmark = pytest.mark.django_db


def rule(kind, value="", number=None, negate=False):
    return SegmentRule(kind=kind, value=value, number=number, negate=negate)


def usernames(rules, match=Match.ALL):
    return set(users_matching(rules, match).values_list("username", flat=True))


@pytest.fixture
def people():
    """Four users with different profiles and behaviour."""
    items = make_catalog(items_per_kind=2)
    books = [item for item in items if item.categories.filter(slug="books").exists()]
    ann = make_user("ann", age=30, gender="F", occupation="engineer", postcode="10115")
    bob = make_user("bob", age=52, gender="M", occupation="writer", postcode="80331")
    cy = make_user("cy", age=19, gender="F", occupation="student", postcode="10245")
    make_user("dee", age=None, consents=())
    add_interactions(ann, books[:1], days_ago=3)
    add_interactions(bob, books[:1], days_ago=40)
    add_interactions(bob, items[:2], kind=InteractionKind.PURCHASE, days_ago=60)
    add_interactions(cy, items[1:2], kind=InteractionKind.ENROLL, days_ago=2)
    return items


def test_age_band_rule(people):
    assert usernames([rule(RuleKind.AGE_BAND, "25-34")]) == {"ann"}


def test_gender_rule(people):
    assert usernames([rule(RuleKind.GENDER, "F")]) == {"ann", "cy"}


def test_occupation_rule_ignores_case(people):
    assert usernames([rule(RuleKind.OCCUPATION, "Writer")]) == {"bob"}


def test_postcode_prefix_rule(people):
    assert usernames([rule(RuleKind.POSTCODE_PREFIX, "10")]) == {"ann", "cy"}


def test_category_interaction_within_days(people):
    recent = [rule(RuleKind.CATEGORY_INTERACTION, "books", 7)]
    longer = [rule(RuleKind.CATEGORY_INTERACTION, "books", 90)]
    assert usernames(recent) == {"ann"}
    assert usernames(longer) == {"ann", "bob"}


def test_purchase_count_counts_purchases_and_enrolments(people):
    assert usernames([rule(RuleKind.PURCHASE_COUNT, number=2)]) == {"bob"}
    assert usernames([rule(RuleKind.PURCHASE_COUNT, number=1)]) == {"bob", "cy"}


def test_inactive_rule(people):
    assert usernames([rule(RuleKind.INACTIVE, number=30)]) == {"bob", "dee"}


def test_consent_rule_uses_latest_event(people):
    record_consent(
        User.objects.get(username="ann"), Purpose.EMAIL, False, ConsentSource.API
    )
    assert usernames([rule(RuleKind.CONSENT, Purpose.EMAIL)]) == {"bob", "cy"}


def test_all_combines_with_and(people):
    rules = [rule(RuleKind.GENDER, "F"), rule(RuleKind.POSTCODE_PREFIX, "102")]
    assert usernames(rules, Match.ALL) == {"cy"}


def test_any_combines_with_or(people):
    rules = [rule(RuleKind.AGE_BAND, "45-54"), rule(RuleKind.AGE_BAND, "18-24")]
    assert usernames(rules, Match.ANY) == {"bob", "cy"}


def test_negated_rule(people):
    assert usernames([rule(RuleKind.GENDER, "F", negate=True)]) == {"bob", "dee"}


def test_no_rules_match_every_active_user(people):
    assert usernames([]) == {"ann", "bob", "cy", "dee"}


def test_rule_without_value_is_invalid():
    invalid = rule(RuleKind.AGE_BAND)
    with pytest.raises(Exception, match="needs a value"):
        invalid.clean()


def test_unknown_age_band_is_invalid():
    invalid = rule(RuleKind.AGE_BAND, "young")
    with pytest.raises(Exception, match="not valid here"):
        invalid.clean()


def test_saved_segment_matches_its_rules(people):
    segment = Segment.objects.create(name="women", match=Match.ALL)
    SegmentRule.objects.create(segment=segment, kind=RuleKind.GENDER, value="F")
    from campaigns.segments import segment_users

    assert set(segment_users(segment).values_list("username", flat=True)) == {
        "ann",
        "cy",
    }


def test_admin_preview_returns_size_and_sample(people, admin_client):
    payload = {
        "match": "any",
        "rules": [
            {"kind": "gender", "value": "M", "number": ""},
            {"kind": "age_band", "value": "18-24", "number": ""},
            {"kind": "gender", "value": "F", "delete": True},
        ],
    }
    response = admin_client.post(
        reverse("admin:campaigns_segment_preview"),
        json.dumps(payload),
        content_type="application/json",
    )
    data = response.json()
    assert response.status_code == HTTPStatus.OK
    assert data["size"] == 2
    assert {member["username"] for member in data["sample"]} == {"bob", "cy"}


def test_admin_preview_reports_invalid_rule(people, admin_client):
    payload = {"rules": [{"kind": "inactive", "value": "", "number": ""}]}
    response = admin_client.post(
        reverse("admin:campaigns_segment_preview"),
        json.dumps(payload),
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "needs N" in response.json()["error"]


def test_segment_change_form_has_preview_box(people, admin_client):
    segment = Segment.objects.create(name="all")
    response = admin_client.get(
        reverse("admin:campaigns_segment_change", args=[segment.pk])
    )
    assert b'id="segment-preview"' in response.content
    assert b"segment_preview.js" in response.content
