"""Sending: consent at send time, exactly-once delivery, failures and controls."""

import smtplib
import threading
from collections import Counter

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.consent import record_consent
from accounts.models import ConsentSource, Purpose
from campaigns import sending, services
from campaigns.content import SlotFiller
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus, Variant
from campaigns.tasks import run_campaign_task
from campaigns.testing import (
    add_interactions,
    make_campaign,
    make_catalog,
    make_user,
    train_popularity,
)
from catalog.models import Item
from recommendations import training
from recommendations.models import Interaction, InteractionKind
from recommendations.services import recommend

FLAKY_BACKEND = "tests.test_campaign_sending.DisconnectingBackend"


class DisconnectingBackend(EmailBackend):
    """Locmem backend whose connection drops at the second message of a run."""

    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls == 2:
            raise smtplib.SMTPServerDisconnected("connection dropped")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def site(settings):
    settings.ATTUNE_SITE_URL = "https://attune.example"


@pytest.fixture
def catalog(db):
    items = make_catalog()
    train_popularity(items)
    return items


@pytest.fixture
def recipients(catalog):
    return [make_user(f"user{index}", first_name=f"Name{index}") for index in range(6)]


def recipients_of_outbox() -> Counter:
    return Counter(address for message in mail.outbox for address in message.to)


def send_all(campaign_id: int, size: int = sending.BATCH_SIZE) -> None:
    while sending.send_next_batch(campaign_id, size).more:
        pass


def launched(campaign):
    services.build_audience(campaign.pk)
    campaign.status = CampaignStatus.SENDING
    campaign.save()
    return campaign


def test_launch_sends_to_every_consenting_member(
    recipients, django_capture_on_commit_callbacks
):
    make_user("silent", consents=())
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign.pk)
    campaign.refresh_from_db()
    assert recipients_of_outbox() == Counter(u.email for u in recipients)
    assert campaign.status == CampaignStatus.SENT
    assert Delivery.objects.filter(status=DeliveryStatus.SKIPPED).count() == 1


def test_withdrawn_consent_before_sending_skips(recipients):
    campaign = launched(make_campaign())
    record_consent(recipients[0], Purpose.EMAIL, False, ConsentSource.PREFERENCES)
    send_all(campaign.pk)
    delivery = Delivery.objects.get(user=recipients[0])
    assert recipients[0].email not in recipients_of_outbox()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert len(mail.outbox) == 5


def test_consent_rechecked_right_before_each_message(recipients, monkeypatch):
    """Consent withdrawn while the batch renders still stops that message."""
    campaign = launched(make_campaign())
    original = sending.send_prepared

    def withdraw_then_send(campaign, prepared, outcomes):
        record_consent(recipients[1], Purpose.EMAIL, False, ConsentSource.UNSUBSCRIBE)
        return original(campaign, prepared, outcomes)

    monkeypatch.setattr(sending, "send_prepared", withdraw_then_send)
    send_all(campaign.pk)
    assert recipients[1].email not in recipients_of_outbox()
    assert Delivery.objects.get(user=recipients[1]).status == DeliveryStatus.SKIPPED


def test_rerun_of_send_task_sends_nothing_twice(recipients):
    campaign = launched(make_campaign())
    run_campaign_task.apply(args=(campaign.pk,))
    run_campaign_task.apply(args=(campaign.pk,))
    assert set(recipients_of_outbox().values()) == {1}
    assert len(mail.outbox) == len(recipients)


def test_retry_after_dropped_connection_sends_each_once(recipients, settings):
    campaign = launched(make_campaign())
    settings.EMAIL_BACKEND = FLAKY_BACKEND
    DisconnectingBackend.calls = 0
    with pytest.raises(smtplib.SMTPServerDisconnected):
        sending.send_next_batch(campaign.pk)
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    assert statuses == {DeliveryStatus.SENT: 1, DeliveryStatus.FAILED: 1, "pending": 4}

    run_campaign_task.apply(args=(campaign.pk,))
    assert set(recipients_of_outbox().values()) == {1}
    assert len(mail.outbox) == 5


def test_stale_claim_is_failed_not_resent(recipients):
    campaign = launched(make_campaign())
    claimed = sending.claim_batch(campaign.pk, size=2)
    Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
        claimed_at=claimed[0].claimed_at - sending.SEND_LEASE * 2
    )
    send_all(campaign.pk)
    assert len(mail.outbox) == 4
    assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 2


def test_failing_template_fails_only_its_recipient(recipients):
    campaign = make_campaign()
    Variant.objects.filter(campaign=campaign).update(
        html_body='<p>Hi {{ first_name }}</p>{% if first_name == "Name2" %}'
        '{% include "campaigns/no_such_block.html" %}{% endif %}'
    )
    send_all(launched(campaign).pk)
    failed = Delivery.objects.get(user=recipients[2])
    assert failed.status == DeliveryStatus.FAILED
    assert "no_such_block" in failed.error
    assert len(mail.outbox) == 5


def test_pause_stops_within_one_batch(recipients):
    campaign = launched(make_campaign())
    sending.send_next_batch(campaign.pk, size=2)
    services.pause_campaign(campaign.pk)
    run_campaign_task.apply(args=(campaign.pk,))
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 4


def test_resume_sends_the_rest(recipients, django_capture_on_commit_callbacks):
    campaign = launched(make_campaign())
    sending.send_next_batch(campaign.pk, size=2)
    services.pause_campaign(campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.resume_campaign(campaign.pk)
    assert len(mail.outbox) == 6


def test_cancel_cancels_pending_deliveries(recipients):
    campaign = launched(make_campaign())
    sending.send_next_batch(campaign.pk, size=2)
    services.cancel_campaign(campaign.pk)
    run_campaign_task.apply(args=(campaign.pk,))
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count() == 4


def test_launching_twice_is_rejected(recipients):
    campaign = make_campaign()
    services.launch_campaign(campaign.pk)
    with pytest.raises(services.CampaignStateError, match="while it is sending"):
        services.launch_campaign(campaign.pk)


def test_campaign_without_variant_cannot_launch(recipients):
    campaign = make_campaign(variants=())
    with pytest.raises(ValueError, match="has no variant"):
        services.launch_campaign(campaign.pk)


def test_future_schedule_waits_for_its_time(recipients):
    from datetime import timedelta

    from django.utils import timezone

    campaign = make_campaign(scheduled_at=timezone.now() + timedelta(hours=1))
    services.launch_campaign(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert services.start_due_campaigns() == []


def test_holdout_receives_nothing_but_gets_items(catalog):
    for index in range(40):
        make_user(f"member{index}")
    campaign = launched(make_campaign(holdout_percent=30))
    send_all(campaign.pk)
    holdout = Delivery.objects.filter(status=DeliveryStatus.HOLDOUT)
    held_emails = {d.user.email for d in holdout}
    assert holdout.exists()
    assert not held_emails & set(recipients_of_outbox())
    assert [len(d.item_ids) for d in holdout] == [3] * holdout.count()


def test_messages_carry_unsubscribe_headers_and_footer(recipients):
    send_all(launched(make_campaign()).pk)
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert message.extra_headers["List-Unsubscribe"].startswith(
        "<https://attune.example/unsubscribe/"
    )
    assert (
        message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    assert "Unsubscribe: https://attune.example/unsubscribe/" in message.body
    assert 'style="color: #1d2330' in html


def test_messages_are_personal(recipients):
    send_all(launched(make_campaign()).pk)
    message = next(m for m in mail.outbox if m.to == [recipients[3].email])
    assert message.subject == "Name3, picks for you"
    assert "Hello Name3" in message.body
    assert "Product 0" in message.body


def test_first_name_falls_back(catalog):
    make_user("nameless")
    send_all(launched(make_campaign()).pk)
    assert mail.outbox[0].subject == "there, picks for you"


def test_slots_exclude_purchased_items(recipients):
    top = Item.objects.get(title="Product 0")
    add_interactions(recipients[0], [top], kind=InteractionKind.PURCHASE)
    send_all(launched(make_campaign()).pk)
    delivery = Delivery.objects.get(user=recipients[0])
    assert top.pk not in delivery.item_ids
    assert len(delivery.item_ids) == 3


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_once():
    if connection.vendor != "mysql":
        pytest.skip("Row locks with SKIP LOCKED need MariaDB or MySQL.")
    train_popularity(make_catalog())
    users = [make_user(f"racer{index}") for index in range(40)]
    campaign = launched(make_campaign())
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            send_all(campaign.pk, size=3)
        except Exception as error:  # noqa: BLE001  reported by the assert below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert recipients_of_outbox() == Counter(user.email for user in users)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 40


@pytest.fixture
def profiled_recipients(catalog):
    """Recipients who allow personalization, with histories and a kNN model."""
    users = []
    for index in range(12):
        user = make_user(
            f"profiled{index}", consents=(Purpose.EMAIL, Purpose.PERSONALIZATION)
        )
        add_interactions(user, catalog[index : index + 4])
        add_interactions(user, [catalog[index + 5]], kind=InteractionKind.PURCHASE)
        users.append(user)
    training.train("item_knn")
    assert recommend(users[0], 3).personalized
    return users


def test_personal_slots_skip_seen_items(profiled_recipients):
    slots = (("products", 3, "product"), ("courses", 3, "course"), ("posts", 2, "post"))
    send_all(launched(make_campaign(slots=slots)).pk)

    for user in profiled_recipients:
        delivery = Delivery.objects.get(user=user)
        seen = set(
            Interaction.objects.filter(user=user).values_list("item_id", flat=True)
        )
        assert delivery.status == DeliveryStatus.SENT
        assert len(delivery.item_ids) == len(set(delivery.item_ids)) == 8
        assert not seen & set(delivery.item_ids)


def test_slot_queries_ignore_recipient_count(profiled_recipients):
    campaign = make_campaign(slots=(("products", 3, "product"), ("posts", 3, "post")))
    slots = list(campaign.slots.all())
    counts = []
    for users in (profiled_recipients[:3], profiled_recipients):
        with CaptureQueriesContext(connection) as queries:
            filled = SlotFiller(slots, users).fill()
        counts.append(len(queries))
        assert all(len(filled[user.pk]) == 2 for user in users)
    assert counts[0] == counts[1]


def test_unfiltered_slot_full_for_buyer(db):
    # 120 items with equal popularity: more than the 100 popular candidates a
    # list starts from, so the buyer's slot has to look past them.
    items = make_catalog(items_per_kind=40)
    for index in range(2):
        member = make_user(f"crowd{index}", consents=(Purpose.PERSONALIZATION,))
        add_interactions(member, items, days_ago=400)
    training.train("popularity")
    buyer = make_user("buyer")
    bought = [rec.item for rec in recommend(buyer, 95)]
    add_interactions(buyer, bought, kind=InteractionKind.PURCHASE)

    campaign = make_campaign(slug="heavy", slots=(("anything", 10, ""),))
    send_all(launched(campaign).pk)

    delivery = Delivery.objects.get(user=buyer)
    assert delivery.status == DeliveryStatus.SENT
    assert len(delivery.item_ids) == 10
    assert not {item.pk for item in bought} & set(delivery.item_ids)
