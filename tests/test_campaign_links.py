"""Pages, clicks, opens and unsubscribe links: signatures, consent and safety."""

from http import HTTPStatus

import pytest
from django.core import mail
from django.urls import reverse

from accounts.consent import has_consent
from accounts.models import Purpose
from campaigns import sending, services, tokens
from campaigns.models import (
    CampaignStatus,
    Channel,
    Delivery,
    TrackingCounter,
    TrackingEvent,
)
from campaigns.testing import make_campaign, make_catalog, make_user, train_popularity
from recommendations.models import Interaction, InteractionKind

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture(autouse=True)
def site(settings):
    settings.ATTUNE_SITE_URL = "https://attune.example"


@pytest.fixture
def catalog(db):
    items = make_catalog()
    train_popularity(items)
    return items


@pytest.fixture
def tracked_user(catalog):
    return make_user(
        "tracked", first_name="Tia", consents=(Purpose.EMAIL, Purpose.ANALYTICS)
    )


@pytest.fixture
def private_user(catalog):
    return make_user("private", first_name="Pip", consents=(Purpose.EMAIL,))


@pytest.fixture
def sent_campaign(tracked_user, private_user):
    campaign = make_campaign()
    services.build_audience(campaign.pk)
    campaign.status = CampaignStatus.SENDING
    campaign.save()
    while sending.send_next_batch(campaign.pk).more:
        pass
    return campaign


def unsubscribe_url(user):
    return reverse("campaigns:unsubscribe", args=[tokens.unsubscribe_token(user.pk)])


def click_url(user, item, campaign=None, delivery=None):
    target = tokens.ClickTarget(
        user.pk,
        item.pk,
        campaign.pk if campaign else None,
        delivery.variant_id if delivery else None,
        delivery.pk if delivery else None,
    )
    return reverse("campaigns:click", args=[tokens.click_token(target)])


def tampered(token: str) -> str:
    """Change one character of the signed payload."""
    position = 2
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def test_one_click_post_unsubscribes_without_redirect(client, tracked_user):
    response = client.post(unsubscribe_url(tracked_user), ONE_CLICK)
    assert response.status_code == HTTPStatus.OK
    assert not has_consent(tracked_user, Purpose.EMAIL)


def test_one_click_post_needs_no_cookie_or_csrf(tracked_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(unsubscribe_url(tracked_user), ONE_CLICK)
    assert response.status_code == HTTPStatus.OK
    assert not has_consent(tracked_user, Purpose.EMAIL)


def test_unsubscribe_records_source_unsubscribe(client, tracked_user):
    client.post(unsubscribe_url(tracked_user), ONE_CLICK)
    latest = tracked_user.consent_events.filter(purpose=Purpose.EMAIL).first()
    assert latest.source == "unsubscribe"


def test_get_shows_confirmation_and_changes_nothing(client, tracked_user):
    response = client.get(unsubscribe_url(tracked_user))
    assert response.status_code == HTTPStatus.OK
    assert b'name="List-Unsubscribe" value="One-Click"' in response.content
    assert has_consent(tracked_user, Purpose.EMAIL)


def test_head_changes_nothing(client, tracked_user):
    response = client.head(unsubscribe_url(tracked_user))
    assert response.status_code == HTTPStatus.OK
    assert has_consent(tracked_user, Purpose.EMAIL)


def test_post_without_one_click_field_changes_nothing(client, tracked_user):
    response = client.post(unsubscribe_url(tracked_user), {})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert has_consent(tracked_user, Purpose.EMAIL)


def test_tampered_unsubscribe_token_is_rejected(client, tracked_user):
    token = tampered(tokens.unsubscribe_token(tracked_user.pk))
    url = reverse("campaigns:unsubscribe", args=[token])
    response = client.post(url, ONE_CLICK)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert has_consent(tracked_user, Purpose.EMAIL)


def test_token_for_another_purpose_is_rejected(client, tracked_user):
    """An open token for the same id does not unsubscribe."""
    url = reverse("campaigns:unsubscribe", args=[tokens.open_token(tracked_user.pk)])
    response = client.post(url, ONE_CLICK)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert has_consent(tracked_user, Purpose.EMAIL)


def test_click_redirects_to_item_url(client, tracked_user, catalog):
    response = client.get(click_url(tracked_user, catalog[0]))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == catalog[0].url


def test_click_ignores_url_in_request(client, tracked_user, catalog):
    url = click_url(tracked_user, catalog[0]) + "?next=https://evil.example/"
    response = client.get(url, {"url": "https://evil.example/"})
    assert response["Location"] == catalog[0].url


def test_tampered_click_token_is_not_redirected(client, tracked_user, catalog):
    token = tokens.click_token(
        tokens.ClickTarget(tracked_user.pk, catalog[0].pk, None, None, None)
    )
    url = reverse("campaigns:click", args=[tampered(token)])
    response = client.get(url)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not response.has_header("Location")


def test_forged_token_with_other_key_is_rejected(client, tracked_user, catalog):
    from django.core import signing

    signer = signing.TimestampSigner(key="not-the-secret", salt=tokens.CLICK_SALT)
    forged = signer.sign(f"{tracked_user.pk}.{catalog[0].pk}...")
    response = client.get(reverse("campaigns:click", args=[forged]))
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_click_with_consent_becomes_interaction(client, sent_campaign, tracked_user):
    delivery = Delivery.objects.get(user=tracked_user)
    item = delivery.item_ids[0]
    from catalog.models import Item

    client.get(
        click_url(tracked_user, Item.objects.get(pk=item), sent_campaign, delivery)
    )
    delivery.refresh_from_db()
    assert Interaction.objects.filter(
        user=tracked_user, item_id=item, kind=InteractionKind.CLICK
    ).exists()
    assert delivery.clicked_at is not None


def test_click_without_consent_is_only_counted(client, sent_campaign, private_user):
    from catalog.models import Item

    delivery = Delivery.objects.get(user=private_user)
    item = Item.objects.get(pk=delivery.item_ids[0])
    client.get(click_url(private_user, item, sent_campaign, delivery))
    counter = TrackingCounter.objects.get(event=TrackingEvent.CLICK)
    assert not Interaction.objects.filter(
        user=private_user, kind=InteractionKind.CLICK
    ).exists()
    assert counter.count == 1
    assert counter.variant_id == delivery.variant_id


def test_links_in_sent_email_work(client, sent_campaign, tracked_user):
    message = next(m for m in mail.outbox if m.to == [tracked_user.email])
    link = next(
        line.split(": ", 1)[1] for line in message.body.splitlines() if "/r/" in line
    )
    response = client.get(link.replace("https://attune.example", ""))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("https://shop.example/")


def test_open_pixel_marks_delivery_with_consent(client, sent_campaign, tracked_user):
    delivery = Delivery.objects.get(user=tracked_user)
    url = reverse("campaigns:open", args=[tokens.open_token(delivery.pk)])
    response = client.get(url)
    delivery.refresh_from_db()
    assert response["Content-Type"] == "image/gif"
    assert delivery.opened_at is not None


def test_open_pixel_without_consent_is_counted(client, sent_campaign, private_user):
    delivery = Delivery.objects.get(user=private_user)
    client.get(reverse("campaigns:open", args=[tokens.open_token(delivery.pk)]))
    delivery.refresh_from_db()
    assert delivery.opened_at is None
    assert TrackingCounter.objects.get(event=TrackingEvent.OPEN).count == 1


def test_signed_page_link_shows_the_named_user(client, sent_campaign, tracked_user):
    token = tokens.page_token(sent_campaign.pk, tracked_user.pk)
    url = reverse("campaigns:page", args=[sent_campaign.slug])
    response = client.get(url, {"t": token})
    assert response.status_code == HTTPStatus.OK
    assert b"Hello Tia" in response.content


def test_tampered_page_link_is_rejected(client, sent_campaign, tracked_user):
    token = tampered(tokens.page_token(sent_campaign.pk, tracked_user.pk))
    url = reverse("campaigns:page", args=[sent_campaign.slug])
    response = client.get(url, {"t": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"Hello" not in response.content


def test_page_link_of_another_campaign_is_rejected(client, sent_campaign, tracked_user):
    other = make_campaign(slug="other", channel=Channel.PAGE)
    services.launch_campaign(other.pk)
    token = tokens.page_token(sent_campaign.pk, tracked_user.pk)
    response = client.get(reverse("campaigns:page", args=["other"]), {"t": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_expired_page_link_is_rejected(client, sent_campaign, tracked_user, settings):
    token = tokens.page_token(sent_campaign.pk, tracked_user.pk)
    settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE = -1
    url = reverse("campaigns:page", args=[sent_campaign.slug])
    response = client.get(url, {"t": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"expired" in response.content


def test_page_for_signed_in_user_records_impressions(client, tracked_user):
    campaign = make_campaign(slug="page", channel=Channel.PAGE)
    services.launch_campaign(campaign.pk)
    client.force_login(tracked_user)
    response = client.get(reverse("campaigns:page", args=["page"]))
    assert response.status_code == HTTPStatus.OK
    assert (
        Interaction.objects.filter(
            user=tracked_user, kind=InteractionKind.IMPRESSION
        ).count()
        == 3
    )


def test_page_without_consent_counts_impressions(client, private_user):
    campaign = make_campaign(slug="page", channel=Channel.PAGE)
    services.launch_campaign(campaign.pk)
    client.force_login(private_user)
    client.get(reverse("campaigns:page", args=["page"]))
    assert not Interaction.objects.filter(user=private_user).exists()
    assert TrackingCounter.objects.get(event=TrackingEvent.IMPRESSION).count == 3


def test_draft_campaign_page_is_not_found(client, tracked_user):
    make_campaign(slug="draft", channel=Channel.PAGE)
    client.force_login(tracked_user)
    response = client.get(reverse("campaigns:page", args=["draft"]))
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_anonymous_page_visit_goes_to_login(client, tracked_user):
    campaign = make_campaign(slug="page", channel=Channel.PAGE)
    services.launch_campaign(campaign.pk)
    response = client.get(reverse("campaigns:page", args=["page"]))
    assert response.status_code == HTTPStatus.FOUND
    assert "/accounts/login/" in response["Location"]
