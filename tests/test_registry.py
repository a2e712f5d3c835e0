"""Model versions: promotion only when no worse, failures, rollback."""

import numpy as np
import pytest
from django.utils import timezone

from recommendations import registry, training
from recommendations.algorithms import REGISTRY
from recommendations.algorithms.base import Recommender, register
from recommendations.models import ModelStatus, ModelVersion
from tests.engine_data import synthetic_data

pytestmark = pytest.mark.django_db


def stored_version(algorithm: str, ndcg: float, active: bool) -> ModelVersion:
    return ModelVersion.objects.create(
        algorithm=algorithm,
        status=ModelStatus.READY,
        metrics={"ndcg@10": ndcg},
        is_active=active,
        activated_at=timezone.now() if active else None,
    )


@pytest.fixture
def nan_algorithm():
    """A registered model whose fit learns NaN weights."""

    @register
    class Diverging(Recommender):
        name = "diverging_for_test"

        def fit(self, data):
            self.weights_ = np.full(data.n_items, np.nan)
            self.n_items_ = data.n_items
            return self

        def score(self, user_indices, history):
            return np.tile(self.weights_, (len(user_indices), 1))

        def get_state(self):
            return {"weights_": self.weights_}

    yield Diverging.name
    REGISTRY.pop(Diverging.name)


def test_first_run_becomes_active():
    version = training.train("ease", data=synthetic_data())

    assert version.is_active
    assert version.metrics["ndcg@10"] > 0


def test_run_records_params_sizes_duration():
    data = synthetic_data()

    version = training.train("item_knn", {"neighbours": 5}, data=data)

    assert version.params["neighbours"] == 5
    assert version.n_interactions == data.n_interactions
    assert version.duration_seconds > 0


def test_worse_run_is_rejected_and_active_stays():
    data = synthetic_data()
    better = training.train("item_knn", data=data)

    version = training.train("item_knn", {"neighbours": 1}, data=data)

    assert version.status == ModelStatus.REJECTED
    assert "below" in version.error
    assert registry.active_version("item_knn") == better


def test_worse_run_is_measured_on_the_same_split():
    data = synthetic_data()
    training.train("item_knn", data=data)

    version = training.train("item_knn", {"neighbours": 1}, data=data)

    assert version.metrics["active_ndcg@10"] > version.metrics["ndcg@10"]


def test_better_run_replaces_active():
    data = synthetic_data()
    old = training.train("item_knn", {"neighbours": 1}, data=data)

    version = training.train("item_knn", data=data)

    old.refresh_from_db()
    assert registry.active_version("item_knn") == version
    assert not old.is_active


def test_same_params_on_new_data_replace_active():
    old = training.train("ease", data=synthetic_data(seed=0))

    version = training.train("ease", data=synthetic_data(seed=1))

    assert registry.active_version("ease") == version
    assert old.pk != version.pk


def test_failed_run_keeps_active():
    active = stored_version("item_knn", ndcg=0.1, active=True)

    with pytest.raises(ValueError, match="neighbours=0"):
        training.train("item_knn", {"neighbours": 0}, data=synthetic_data())

    failed = ModelVersion.objects.exclude(pk=active.pk).get()
    assert failed.status == ModelStatus.FAILED
    assert "neighbours=0" in failed.error
    assert registry.active_version("item_knn") == active


def test_nan_parameter_is_rejected_before_training():
    active = stored_version("ease", ndcg=0.1, active=True)

    with pytest.raises(ValueError, match="not a finite number"):
        training.train("ease", {"l2": float("nan")}, data=synthetic_data())

    assert registry.active_version("ease") == active
    assert ModelVersion.objects.count() == 1


def test_learned_nan_fails_the_run(nan_algorithm):
    active = stored_version(nan_algorithm, ndcg=0.1, active=True)

    with pytest.raises(ValueError, match="non-finite values"):
        training.train(nan_algorithm, data=synthetic_data())

    assert registry.active_version(nan_algorithm) == active


def test_rollback_reactivates_previous_version():
    data = synthetic_data()
    first = training.train("ease", data=data)
    second = training.train("ease", data=data)

    restored = registry.rollback("ease")

    assert restored == first
    assert registry.active_version("ease") == first
    assert second.pk != first.pk


def test_rollback_without_previous_version_raises():
    training.train("ease", data=synthetic_data())

    with pytest.raises(ValueError, match="No earlier ready version"):
        registry.rollback("ease")


def test_activate_rejects_failed_version():
    version = ModelVersion.objects.create(algorithm="ease", status=ModelStatus.FAILED)

    with pytest.raises(ValueError, match="only a ready"):
        registry.activate(version)


def test_active_version_loads_and_scores():
    data = synthetic_data()
    training.train("ranker", {"sources": ["ease", "popularity"]}, data=data)

    loaded = registry.load_active("ranker")
    items, _ = loaded.model.recommend(np.array([0]), data.matrix[[0]], 5)

    assert len(items[0]) == 5
