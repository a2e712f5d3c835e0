"""Export and erasure of a user's campaign deliveries."""

import pytest
from django.utils import timezone

from campaigns.models import Delivery, DeliveryStatus
from campaigns.personal_data import erase_deliveries, export_deliveries
from campaigns.testing import make_campaign, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered():
    user = make_user("kept")
    campaign = make_campaign()
    Delivery.objects.create(
        campaign=campaign,
        user=user,
        variant=campaign.variants.get(),
        status=DeliveryStatus.SENT,
        item_ids=[4, 5],
        processed_at=timezone.now(),
        opened_at=timezone.now(),
    )
    return user


def test_export_lists_deliveries(delivered):
    (row,) = export_deliveries(delivered)
    assert row["campaign"] == "Spring"
    assert row["variant"] == "A"
    assert row["recommended_item_ids"] == [4, 5]
    assert row["opened_at"] is not None


def test_erase_anonymizes_and_keeps_totals(delivered):
    assert erase_deliveries(delivered) == 1
    row = Delivery.objects.get()
    assert row.user_id is None
    assert row.item_ids == []
    assert row.opened_at is None
    assert row.status == DeliveryStatus.SENT


def test_export_after_erase_is_empty(delivered):
    erase_deliveries(delivered)
    assert export_deliveries(delivered) == []


def test_account_export_includes_deliveries(delivered):
    from accounts.services import export_user_data

    exported = export_user_data(delivered)

    assert exported["sections"]["deliveries"][0]["campaign"] == "Spring"


def test_account_erasure_anonymizes_deliveries(delivered):
    from accounts.services import erase_user

    record = erase_user(delivered)

    row = Delivery.objects.get()
    assert row.user_id is None
    assert row.item_ids == []
    assert row.opened_at is None
    assert record.counts["deliveries"] == 1
