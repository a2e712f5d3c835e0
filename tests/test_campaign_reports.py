"""Campaign reports: counts per variant, conversions and uplift over holdout."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import charts, reports
from campaigns.models import Delivery, DeliveryStatus, TrackingCounter
from campaigns.testing import add_interactions, make_campaign, make_catalog, make_user
from catalog.models import Item
from recommendations.models import InteractionKind


def test_uplift_difference_and_interval():
    result = reports.uplift(30, 100, 20, 100)
    assert result.difference == pytest.approx(0.10)
    assert result.low == pytest.approx(0.10 - 1.959964 * 0.06083, abs=1e-4)
    assert result.high == pytest.approx(0.10 + 1.959964 * 0.06083, abs=1e-4)


def test_uplift_needs_both_groups():
    assert reports.uplift(3, 10, 0, 0) is None


@pytest.fixture
def finished_campaign(db):
    """Two treated users (one converts, one not), one holdout user who converts."""
    items = make_catalog(items_per_kind=2)
    campaign = make_campaign(variants=(("A", 1),), conversion_days=7)
    variant = campaign.variants.get()
    sent_at = timezone.now() - timedelta(days=2)
    buyer = make_user("buyer")
    idle = make_user("idle")
    held = make_user("held")
    failed = make_user("failed")
    rows = [
        (buyer, variant, DeliveryStatus.SENT),
        (idle, variant, DeliveryStatus.SENT),
        (held, None, DeliveryStatus.HOLDOUT),
        (failed, variant, DeliveryStatus.FAILED),
    ]
    for user, row_variant, status in rows:
        Delivery.objects.create(
            campaign=campaign,
            user=user,
            variant=row_variant,
            status=status,
            item_ids=[items[0].pk, items[1].pk],
            processed_at=sent_at,
            opened_at=sent_at if user == buyer else None,
        )
    add_interactions(buyer, [items[1]], kind=InteractionKind.PURCHASE, days_ago=1)
    add_interactions(held, [items[0]], kind=InteractionKind.VIEW, days_ago=1)
    # Outside the window and on an item that was not recommended: no conversion.
    add_interactions(idle, [items[0]], kind=InteractionKind.PURCHASE, days_ago=30)
    add_interactions(idle, [items[3]], kind=InteractionKind.PURCHASE, days_ago=1)
    TrackingCounter.objects.create(
        campaign=campaign, variant=variant, day=sent_at.date(), event="open", count=4
    )
    return campaign


def test_report_counts_per_variant(finished_campaign):
    treated, holdout = reports.campaign_report(finished_campaign)
    assert treated.recipients == 3
    assert treated.sent == 2
    assert treated.failed == 1
    assert treated.opens == 5
    assert holdout.recipients == 1


def test_report_counts_conversions_in_window(finished_campaign):
    treated, holdout = reports.campaign_report(finished_campaign)
    assert treated.conversions == 1
    assert treated.conversion_rate == pytest.approx(0.5)
    assert holdout.conversions == 1


def test_report_uplift_against_holdout(finished_campaign):
    treated, _ = reports.campaign_report(finished_campaign)
    assert treated.uplift.difference == pytest.approx(-0.5)


def test_chart_is_inline_svg(finished_campaign):
    svg = charts.report_chart(reports.campaign_report(finished_campaign))
    assert svg.startswith("<svg")
    assert "holdout" in svg


def test_admin_report_page_shows_table_and_chart(finished_campaign, admin_client):
    url = reverse("admin:campaigns_campaign_report", args=[finished_campaign.pk])
    response = admin_client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert b"<svg" in response.content
    assert b"Uplift over holdout" in response.content


def test_admin_preview_renders_as_chosen_user(admin_client, db):
    from campaigns.testing import train_popularity

    train_popularity(make_catalog())
    user = make_user("reader", first_name="Rae")
    campaign = make_campaign()
    url = reverse("admin:campaigns_campaign_preview", args=[campaign.pk])
    response = admin_client.get(url, {"user": "reader"})
    assert response.status_code == HTTPStatus.OK
    assert b"Rae, picks for you" in response.content
    assert Item.objects.exists()
    assert user.campaign_deliveries.count() == 0


def test_admin_sends_test_to_address(admin_client, db, mailoutbox):
    from campaigns.testing import train_popularity

    train_popularity(make_catalog())
    make_user("reader", first_name="Rae")
    campaign = make_campaign()
    url = reverse("admin:campaigns_campaign_preview", args=[campaign.pk])
    admin_client.post(f"{url}?user=reader", {"address": "qa@example.com"})
    assert [m.to for m in mailoutbox] == [["qa@example.com"]]
    assert mailoutbox[0].subject == "[Test] Rae, picks for you"


def test_admin_rejects_invalid_test_address(admin_client, db, mailoutbox):
    make_user("reader")
    campaign = make_campaign()
    url = reverse("admin:campaigns_campaign_preview", args=[campaign.pk])
    response = admin_client.post(f"{url}?user=reader", {"address": "nope"}, follow=True)
    assert mailoutbox == []
    assert b"is not a valid e-mail address" in response.content


def test_admin_launch_action(admin_client, db, django_capture_on_commit_callbacks):
    make_user("reader")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:campaigns_campaign_changelist"),
            {"action": "launch", "_selected_action": [campaign.pk]},
        )
    campaign.refresh_from_db()
    assert campaign.status == "sent"


def test_admin_change_form_links_preview_and_report(admin_client, db):
    campaign = make_campaign()
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    response = admin_client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert reverse("admin:campaigns_campaign_preview", args=[campaign.pk]).encode() in (
        response.content
    )
    assert reverse("admin:campaigns_campaign_report", args=[campaign.pk]).encode() in (
        response.content
    )


def test_admin_add_forms_render(admin_client, db):
    for name in ("campaign", "segment"):
        response = admin_client.get(reverse(f"admin:campaigns_{name}_add"))
        assert response.status_code == HTTPStatus.OK, name


def test_admin_test_sends_are_throttled(admin_client, db, mailoutbox, settings):
    from campaigns.testing import train_popularity

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "test_send": "2/hour"},
    }
    train_popularity(make_catalog())
    make_user("reader", first_name="Rae")
    campaign = make_campaign()
    url = reverse("admin:campaigns_campaign_preview", args=[campaign.pk])

    for _ in range(3):
        response = admin_client.post(
            f"{url}?user=reader", {"address": "qa@example.com"}, follow=True
        )

    assert len(mailoutbox) == 2
    assert b"Too many test messages" in response.content
