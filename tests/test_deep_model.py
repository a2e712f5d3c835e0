"""The Keras recommender: fitting, scoring, saving, new users and quality."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from recommendations.algorithms import get_algorithm
from recommendations.algorithms.deep import KERAS_FILE, DeepRecommender
from recommendations.dataset import InteractionData, build_from_frames

CLUSTERS = 4
USERS_PER_CLUSTER = 30
ITEMS_PER_CLUSTER = 20
# Small batches and more epochs than the defaults, which suit 100,000 events.
SMALL_DATA_PARAMS = {"batch_size": 256, "epochs": 10, "random_state": 7}


def planted_frames(seed: int = 0):
    """Return events and features where each user likes one cluster of items.

    A user rates 12 random items of their cluster and 2 random items of any
    cluster. Every cluster is equally popular, so popularity cannot tell
    the clusters apart while a personal model can. Gender and occupation
    follow the cluster, and each item's category is its cluster. One more
    item, in cluster 0's category, has no events at all.
    """
    rng = np.random.default_rng(seed)
    n_items = CLUSTERS * ITEMS_PER_CLUSTER
    rows = []
    users = []
    for cluster in range(CLUSTERS):
        own = np.arange(cluster * ITEMS_PER_CLUSTER, (cluster + 1) * ITEMS_PER_CLUSTER)
        for offset in range(USERS_PER_CLUSTER):
            user_id = 1000 + cluster * USERS_PER_CLUSTER + offset
            liked = rng.choice(own, size=12, replace=False)
            noise = rng.choice(n_items, size=2, replace=False)
            for item in np.concatenate([liked, noise]):
                rows.append((user_id, int(item) + 1, 4.0, int(rng.integers(1e9))))
            users.append(
                (user_id, 20 + 10 * cluster, "FM"[cluster % 2], f"job{cluster}")
            )
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"])
    user_features = pd.DataFrame(
        users, columns=["id", "age", "gender", "occupation"]
    ).set_index("id")
    item_ids = np.arange(1, n_items + 2)
    clusters = (item_ids - 1) // ITEMS_PER_CLUSTER % CLUSTERS
    item_features = pd.DataFrame(
        {"categories": [[f"cluster{cluster}"] for cluster in clusters]},
        index=pd.Index(item_ids, name="id"),
    )
    return events, item_ids, user_features, item_features


def planted_data(seed: int = 0) -> InteractionData:
    return build_from_frames(*planted_frames(seed))


def split_per_user(data: InteractionData, seed: int = 1):
    """Hold out a random quarter of each user's events."""
    rng = np.random.default_rng(seed)
    shuffled = data.events.iloc[rng.permutation(len(data.events))]
    rank = shuffled.groupby("user").cumcount()
    held_out = rank < shuffled.groupby("user")["item"].transform("size") // 4
    return data.subset(shuffled[~held_out]), data.subset(shuffled[held_out])


def hit_rate_at_10(model, train: InteractionData, test: InteractionData) -> float:
    users = np.arange(train.n_users)
    top_items, _ = model.recommend(users, train.matrix, 10)
    hits = [
        np.isin(top, test.matrix[user].indices).sum()
        for user, top in zip(users, top_items, strict=True)
    ]
    return float(np.sum(hits) / test.matrix.nnz)


@pytest.fixture(scope="module")
def data():
    return planted_data()


@pytest.fixture(scope="module")
def fitted(data):
    return DeepRecommender(**SMALL_DATA_PARAMS).fit(data)


def test_deep_is_registered():
    assert get_algorithm("deep") is DeepRecommender


def test_registry_import_leaves_tensorflow_unloaded():
    code = (
        "import os, sys, django;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test';"
        "django.setup();"
        "import recommendations.algorithms;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"


def test_scores_cover_catalogue_and_are_finite(fitted, data):
    scores = fitted.score(np.arange(5), data.matrix[:5])

    assert scores.shape == (5, data.n_items)
    assert np.isfinite(scores).all()


def test_recommend_skips_seen_items(fitted, data):
    top_items, top_scores = fitted.recommend(np.arange(3), data.matrix[:3], 10)

    for user, (items, scores) in enumerate(zip(top_items, top_scores, strict=True)):
        assert len(items) == 10
        assert not np.isin(items, data.matrix[user].indices).any()
        assert (np.diff(scores) <= 0).all()


def test_recommend_more_than_catalogue_returns_unseen_only(fitted, data):
    top_items, _ = fitted.recommend(np.array([0]), data.matrix[:1], 10_000)

    assert len(top_items[0]) == data.n_items - data.matrix[0].nnz
    assert top_items[0].max() < data.n_items


def test_save_load_round_trip_keeps_scores(fitted, data, tmp_path):
    fitted.save(tmp_path / "deep")
    loaded = DeepRecommender.load(tmp_path / "deep")
    users = np.array([0, 40, -1])
    history = data.matrix[[0, 40, 80]]

    assert (tmp_path / "deep" / KERAS_FILE).is_file()
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_allclose(
        loaded.score(users, history), fitted.score(users, history), rtol=1e-5
    )


def test_learned_state_is_finite(fitted):
    state = fitted.get_state()

    assert "item_vectors_" in state
    for name, values in state.items():
        assert np.isfinite(values).all(), name


def test_unknown_user_scores_are_finite(fitted, data):
    empty = sparse.csr_matrix((1, data.n_items), dtype=np.float32)
    with_history = data.matrix[[10]]

    assert np.isfinite(fitted.score(np.array([-1]), empty)).all()
    assert np.isfinite(fitted.score(np.array([-1]), with_history)).all()


def test_unknown_user_gets_items_of_history_cluster(fitted, data):
    """A new user's history alone steers the list to that user's cluster."""
    cluster = 2
    own = np.arange(cluster * ITEMS_PER_CLUSTER, (cluster + 1) * ITEMS_PER_CLUSTER)
    history = sparse.csr_matrix(
        (np.ones(6, np.float32), (np.zeros(6, int), own[:6])),
        shape=(1, data.n_items),
    )

    top_items, _ = fitted.recommend(np.array([-1]), history, 10)

    assert np.isin(top_items[0], own).sum() >= 7


def test_out_of_range_user_is_new_user(fitted, data):
    scores = fitted.score(np.array([data.n_users + 5]), data.matrix[[0]])

    assert np.isfinite(scores).all()


def test_item_nobody_saw_gets_finite_score(fitted, data):
    unseen = data.n_items - 1
    scores = fitted.score(np.arange(4), data.matrix[:4])

    assert data.matrix[:, unseen].nnz == 0
    assert np.isfinite(scores[:, unseen]).all()


def test_no_interactions_scores_zero():
    events = pd.DataFrame(columns=["user_id", "item_id", "value", "timestamp"])
    empty = build_from_frames(events, np.arange(1, 6))
    model = DeepRecommender(epochs=1).fit(empty)

    scores = model.score(np.array([-1]), sparse.csr_matrix((1, 5), dtype=np.float32))

    assert scores.shape == (1, 5)
    assert (scores == 0).all()


def test_single_user_without_features_fits():
    events = pd.DataFrame(
        {"user_id": [1, 1, 1], "item_id": [1, 2, 2], "value": [0.0, 0.0, 0.0]}
    ).assign(timestamp=[1, 2, 3])
    data = build_from_frames(events, np.arange(1, 5))
    model = DeepRecommender(epochs=1).fit(data)

    top_items, top_scores = model.recommend(np.array([0]), data.matrix, 10)

    assert sorted(top_items[0]) == [2, 3]
    assert np.isfinite(top_scores[0]).all()


@pytest.mark.slow
def test_same_random_state_repeats_scores(data):
    params = {"batch_size": 1024, "epochs": 2, "random_state": 3}
    first = DeepRecommender(**params).fit(data)
    second = DeepRecommender(**params).fit(data)
    users = np.arange(4)

    np.testing.assert_allclose(
        first.score(users, data.matrix[:4]),
        second.score(users, data.matrix[:4]),
        rtol=1e-3,
        atol=1e-3,
    )


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"negatives": 0}, "negatives"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"feature_dropout": 1.0}, "feature_dropout"),
        ({"hidden_units": []}, "hidden_units"),
    ],
)
def test_invalid_hyperparameter_raises(params, name):
    with pytest.raises(ValueError, match=name):
        DeepRecommender(**params)


@pytest.mark.slow
def test_beats_popularity_on_held_out_events():
    train, test = split_per_user(planted_data(seed=3))
    deep = DeepRecommender(**SMALL_DATA_PARAMS).fit(train)
    popularity = get_algorithm("popularity")().fit(train)

    deep_hits = hit_rate_at_10(deep, train, test)
    popularity_hits = hit_rate_at_10(popularity, train, test)

    assert deep_hits > popularity_hits + 0.3
