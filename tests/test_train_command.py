"""The train command, in process and through the broker."""

import pytest
from django.core.management import CommandError, call_command

from recommendations.models import ModelVersion, UserRecommendations


@pytest.mark.django_db
def test_train_activates_models_and_precomputes(movielens_slice, capsys):
    call_command("train")

    active = set(
        ModelVersion.objects.filter(is_active=True).values_list("algorithm", flat=True)
    )
    assert active == {"popularity", "content", "item_knn"}
    assert UserRecommendations.objects.count() == 40
    assert "Built 40 profiles." in capsys.readouterr().out


@pytest.mark.django_db
def test_queue_without_broker_is_rejected(settings):
    settings.CELERY_BROKER_URL = ""

    with pytest.raises(CommandError, match="--queue needs a broker"):
        call_command("train", "--queue")
