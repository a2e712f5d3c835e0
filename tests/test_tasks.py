"""Task behaviour in process: the training lock, chained precompute, bad input."""

import pytest
from django.core.cache import cache

from recommendations.models import ModelStatus, ModelVersion, UserRecommendations
from recommendations.tasks import (
    TRAINING_LOCK_KEY,
    precompute_recommendations_task,
    train_models_task,
)


@pytest.fixture
def held_training_lock():
    cache.set(TRAINING_LOCK_KEY, "another-run", 60)
    yield
    cache.delete(TRAINING_LOCK_KEY)


def test_training_skips_while_lock_is_taken(movielens_slice, held_training_lock):
    version_ids = train_models_task.apply(args=(["popularity"],)).get()

    assert version_ids == []
    assert not ModelVersion.objects.exists()
    assert cache.get(TRAINING_LOCK_KEY) == "another-run"


def test_training_releases_lock(movielens_slice):
    version_ids = train_models_task.apply(args=(["popularity"],)).get()

    assert len(version_ids) == 1
    assert cache.get(TRAINING_LOCK_KEY) is None


@pytest.mark.django_db
def test_training_rejects_unknown_algorithm():
    with pytest.raises(ValueError, match="no_such_model"):
        train_models_task.apply(args=(["no_such_model"],)).get()


def test_training_precomputes_promoted_serving_version(movielens_slice):
    version_ids = train_models_task.apply().get()

    serving = ModelVersion.objects.get(pk__in=version_ids, algorithm="item_knn")
    stored = set(UserRecommendations.objects.values_list("model_version", flat=True))
    assert serving.is_active
    assert stored == {serving.pk}


@pytest.mark.django_db
def test_precompute_skips_inactive_version():
    version = ModelVersion.objects.create(
        algorithm="item_knn", status=ModelStatus.READY, is_active=False
    )

    assert precompute_recommendations_task.apply(args=(version.pk,)).get() == 0


@pytest.mark.django_db
def test_precompute_skips_missing_version():
    assert precompute_recommendations_task.apply(args=(987654,)).get() == 0
