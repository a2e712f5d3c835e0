"""Chromium, driven by Playwright, on the for-you page and a campaign page."""

import os
from pathlib import Path

import pytest

from accounts.models import Purpose
from campaigns import services
from campaigns.models import Channel
from campaigns.testing import make_campaign, make_catalog, make_user, train_popularity
from recommendations.models import Interaction, InteractionKind

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS_DIR = Path(__file__).resolve().parent.parent / "test-results"
PASSWORD = "browser-test-password"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install chromium); CI installs it and runs this test.",
    ),
]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    """A Chromium page that can reach the live server and nothing else."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and the test
    # still reads the database from it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        context.route("**/*", keep_traffic_local(live_server.url))
        yield context.new_page()
        context.close()
        browser.close()


def keep_traffic_local(base_url: str):
    """Pass requests to the live server and fulfil any other with a stub page."""

    def handle(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            route.fulfill(status=200, content_type="text/html", body="<h1>Item</h1>")

    return handle


@pytest.fixture
def shopper(transactional_db, settings, live_server):
    settings.ATTUNE_SITE_URL = live_server.url
    train_popularity(make_catalog())
    user = make_user(
        "shopper",
        first_name="Sam",
        consents=(Purpose.EMAIL, Purpose.ANALYTICS, Purpose.PERSONALIZATION),
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "shopper")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{base_url}/for-you/")


def clicks_of(user) -> list[int]:
    rows = Interaction.objects.filter(user=user, kind=InteractionKind.CLICK)
    return list(rows.values_list("item_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_page_clicks_are_recorded(browser_page, shopper, live_server):
    campaign = make_campaign(slug="autumn", channel=Channel.PAGE)
    services.launch_campaign(campaign.pk)
    page = browser_page
    RESULTS_DIR.mkdir(exist_ok=True)

    sign_in(page, live_server.url)
    first_card = page.locator("li.card").first
    item_id = int(first_card.get_attribute("data-item-id"))
    page.screenshot(path=str(RESULTS_DIR / "for-you.png"), full_page=True)
    first_card.locator("a").click()
    page.wait_for_url("https://shop.example/**")
    assert clicks_of(shopper) == [item_id]

    page.goto(f"{live_server.url}/c/autumn/")
    assert page.locator("h1").first.inner_text() == "Hello Sam"
    page.screenshot(path=str(RESULTS_DIR / "campaign-page.png"), full_page=True)
    link = page.locator("div.item a").first
    title = link.inner_text()
    link.click()
    page.wait_for_url("https://shop.example/**")
    clicked = Interaction.objects.filter(
        user=shopper, kind=InteractionKind.CLICK, item__title=title
    )
    assert clicked.exists()
    assert (RESULTS_DIR / "campaign-page.png").stat().st_size > 0


@pytest.mark.django_db(transaction=True)
def test_segment_preview_updates_live(browser_page, shopper, live_server):
    from accounts.models import User

    User.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/campaigns/segment/add/")
    preview = page.locator("#segment-preview")
    preview.filter(has_text="users match").wait_for()
    everyone = preview.inner_text()

    page.select_option("select[name=rules-0-kind]", "gender")
    page.fill("input[name=rules-0-value]", "F")
    preview.filter(has_text="0 users match").wait_for()
    assert "shopper" in everyone
    assert "0 users match" in preview.inner_text()
