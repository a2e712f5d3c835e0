"""A real campaign through a local SMTP server started by the test."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from accounts.models import Purpose
from campaigns import services
from campaigns.models import Delivery, DeliveryStatus
from campaigns.testing import make_campaign, make_catalog, make_user, train_popularity

pytestmark = pytest.mark.slow


class Recorder:
    """aiosmtpd handler keeping every received message."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.ATTUNE_SITE_URL = "https://attune.example"
    yield recorder
    controller.stop()


@pytest.fixture
def audience(db):
    train_popularity(make_catalog())
    return {
        "ada": make_user("ada", first_name="Ada"),
        "ben": make_user("ben", first_name="Ben"),
        "kim": make_user("kim", first_name="Kim", consents=(Purpose.ANALYTICS,)),
    }


def received(smtp_server):
    return {rcpt[0]: message for rcpt, message in smtp_server.messages}


def test_campaign_reaches_smtp_server(
    smtp_server, audience, django_capture_on_commit_callbacks
):
    campaign = make_campaign(
        slots=(("products", 3, "product"), ("courses", 2, "course"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign.pk)

    messages = received(smtp_server)
    ada = messages["ada@example.com"]
    html = ada.get_body(("html",)).get_content()
    text = ada.get_body(("plain",)).get_content()
    assert set(messages) == {"ada@example.com", "ben@example.com"}
    assert ada["Subject"] == "Ada, picks for you"
    assert (
        ada["List-Unsubscribe"]
        .strip()
        .startswith("<https://attune.example/unsubscribe/")
    )
    assert ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hello Ada" in text
    assert "Hello Ada" in html
    assert "Course 0" in text
    assert "intermediate" in html
    assert "/o/" in html
    assert "Unsubscribe" in html
    assert "<style" not in html
    assert messages["ben@example.com"]["Subject"] == "Ben, picks for you"


def test_statuses_after_smtp_run(
    smtp_server, audience, django_capture_on_commit_callbacks
):
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign.pk)
    statuses = dict(
        Delivery.objects.filter(campaign=campaign).values_list(
            "user__username", "status"
        )
    )
    assert statuses == {
        "ada": DeliveryStatus.SENT,
        "ben": DeliveryStatus.SENT,
        "kim": DeliveryStatus.SKIPPED,
    }


def test_refused_recipient_fails_alone(
    smtp_server, audience, django_capture_on_commit_callbacks
):
    make_user("broken", email="refused@example.com", first_name="Broke")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign.pk)
    assert set(received(smtp_server)) == {"ada@example.com", "ben@example.com"}
    assert Delivery.objects.get(user__username="broken").status == DeliveryStatus.FAILED
