"""Serving the ranker, the default serving algorithm outside the test suite."""

from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from recommendations.models import Interaction, ModelVersion
from recommendations.services import Source, recommend


@pytest.fixture
def ranker_trained(movielens_slice, settings):
    settings.ATTUNE_SERVING_ALGORITHM = "ranker"
    call_command("train")
    return User.objects.get(external_id="movielens:1")


@pytest.mark.slow
@pytest.mark.django_db
def test_default_training_activates_ranker_and_fallbacks(ranker_trained):
    active = set(
        ModelVersion.objects.filter(is_active=True).values_list("algorithm", flat=True)
    )

    assert active == {"popularity", "content", "item_knn", "ranker"}


@pytest.mark.slow
@pytest.mark.django_db
def test_ranker_serves_unseen_items_with_reasons(ranker_trained):
    result = recommend(ranker_trained, 10)

    seen = set(
        Interaction.objects.filter(user=ranker_trained).values_list(
            "item_id", flat=True
        )
    )
    assert len(result) == 10
    assert result.personalized
    assert not seen & {rec.item.pk for rec in result}
    assert {rec.source for rec in result} == {Source.PERSONAL}
    assert all(rec.model_version.startswith("ranker:") for rec in result)
    assert all(rec.reason.startswith("Because you rated ") for rec in result)


@pytest.mark.slow
@pytest.mark.django_db
def test_for_you_page_shows_ranker_list(ranker_trained, client):
    client.force_login(ranker_trained)

    response = client.get(reverse("for-you"))

    assert response.status_code == HTTPStatus.OK
    shown = response.context["result"].items
    assert len(shown) == 10
    assert shown[0].model_version.startswith("ranker:")
