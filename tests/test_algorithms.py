"""Every registered recommender: fit, score, save and load, and its options."""

import numpy as np
import pytest

from recommendations.algorithms import REGISTRY, base, get_algorithm
from recommendations.algorithms.base import EXPLAIN_BLOCK_CELLS, Recommender, register
from recommendations.algorithms.ease import EASE, CatalogueTooLargeError
from recommendations.algorithms.knn import ItemKNN, UserKNN
from recommendations.algorithms.ranker import Ranker
from tests.engine_data import synthetic_data

# The ranker refits its sources; a small set keeps the test fast.
FAST_PARAMS = {
    "ranker": {"sources": ["ease", "item_knn", "popularity"], "candidates": 10},
    # Sized for 60 users: the MovieLens defaults over-regularize them.
    "als": {"factors": 8, "regularization": 0.1, "iterations": 10},
    "bpr": {"factors": 4, "learning_rate": 0.1, "iterations": 500},
    # 480 interactions make one batch at the default size of 2,048, so six
    # epochs would be six gradient steps; small batches give the net enough.
    "deep": {"batch_size": 64, "epochs": 15},
}


def fitted(name: str, data=None):
    data = data if data is not None else synthetic_data()
    return get_algorithm(name)(**FAST_PARAMS.get(name, {})).fit(data), data


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_scores_have_one_row_per_user(name):
    model, data = fitted(name)
    users = np.arange(5)

    scores = model.score(users, data.matrix[users])

    assert scores.shape == (5, data.n_items)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_saved_model_scores_the_same(name, tmp_path):
    model, data = fitted(name)
    users = np.arange(4)
    model.save(tmp_path / name)

    loaded = get_algorithm(name).load(tmp_path / name)

    np.testing.assert_allclose(
        loaded.score(users, data.matrix[users]),
        model.score(users, data.matrix[users]),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - {"popularity", "content"}))
def test_collaborative_model_prefers_the_users_genre(name):
    model, data = fitted(name)
    users = np.arange(20)  # user u prefers the items at indices u % 4, + 4, ...

    items, _ = model.recommend(users, data.matrix[users], 3)

    in_genre = [int(item) % 4 == user % 4 for user in users for item in items[user]]
    # Picking at random from the unseen items would give about 0.125.
    assert np.mean(in_genre) > 0.5


def test_ease_guard_names_the_limit():
    data = synthetic_data(n_items=40)

    with pytest.raises(CatalogueTooLargeError, match="limit of 10 items"):
        EASE(max_items=10).fit(data)


def test_ease_limit_comes_from_settings(settings):
    settings.ATTUNE_EASE_MAX_ITEMS = 20

    with pytest.raises(CatalogueTooLargeError, match="ATTUNE_EASE_MAX_ITEMS"):
        EASE().fit(synthetic_data(n_items=40))


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
def test_knn_rejects_unknown_similarity(model_class):
    with pytest.raises(ValueError, match="similarity='pearson'"):
        model_class(similarity="pearson")


def test_item_knn_jaccard_differs_from_cosine():
    data = synthetic_data()

    cosine = ItemKNN(similarity="cosine", shrinkage=0.0).fit(data).similarity_
    jaccard = ItemKNN(similarity="jaccard", shrinkage=0.0).fit(data).similarity_

    assert abs(cosine - jaccard).max() > 0.01


def test_item_knn_keeps_at_most_neighbours_per_item():
    model = ItemKNN(neighbours=3).fit(synthetic_data())

    assert model.similarity_.getnnz(axis=0).max() <= 3


def test_shrinkage_lowers_similarity():
    data = synthetic_data()

    plain = ItemKNN(shrinkage=0.0).fit(data).similarity_.max()
    shrunk = ItemKNN(shrinkage=50.0).fit(data).similarity_.max()

    assert shrunk < plain


def test_user_knn_scores_a_user_outside_training():
    model, data = fitted("user_knn")

    scores = model.score(np.array([-1]), data.matrix[[0]])

    assert scores[0].max() > 0


def test_als_fold_in_matches_training():
    model, data = fitted("als")

    trained = model.score(np.array([0]), data.matrix[[0]])[0]
    folded = model.score(np.array([-1]), data.matrix[[0]])[0]

    assert np.corrcoef(trained, folded)[0, 1] > 0.8


def test_als_is_repeatable_with_random_state():
    data = synthetic_data()

    first = get_algorithm("als")(**FAST_PARAMS["als"]).fit(data).item_factors_
    second = get_algorithm("als")(**FAST_PARAMS["als"]).fit(data).item_factors_

    np.testing.assert_allclose(first, second, rtol=1e-5)


def test_content_links_an_item_nobody_saw():
    data = synthetic_data(n_items=44)  # items 41 to 44 have no interactions
    model = get_algorithm("content")().fit(data)

    scores = model.score(np.array([0]), data.matrix[[0]])[0]

    assert scores[40] > 0  # "Action film 40", the genre user 0 likes


def test_ranker_skips_unregistered_sources():
    ranker = Ranker(sources=["ease", "not_installed"], candidates=5)

    ranker.fit(synthetic_data())

    assert ranker.source_names_ == ["ease"]


def test_ranker_rejects_only_unregistered_sources():
    with pytest.raises(ValueError, match="None of the ranker sources"):
        Ranker(sources=["not_installed"]).fit(synthetic_data())


def test_ranker_uses_a_newly_registered_source():
    @register
    class Constant(Recommender):
        name = "constant_for_test"

        def fit(self, data):
            self.n_items_ = data.n_items
            return self

        def score(self, user_indices, history):
            return np.ones((len(user_indices), self.n_items_))

    try:
        ranker = Ranker(sources=["ease", "constant_for_test"], candidates=5)
        ranker.fit(synthetic_data())
    finally:
        REGISTRY.pop("constant_for_test")

    assert ranker.source_names_ == ["ease", "constant_for_test"]


def test_ranker_drops_a_source_whose_guard_rejects(settings):
    settings.ATTUNE_EASE_MAX_ITEMS = 10

    ranker = Ranker(sources=["ease", "item_knn"], candidates=5)
    ranker.fit(synthetic_data())

    assert ranker.source_names_ == ["item_knn"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("block_cells", [EXPLAIN_BLOCK_CELLS, 0])
def test_explain_rows_matches_explain(name, block_cells, monkeypatch):
    # With no room for a block, explain_rows goes row by row instead.
    monkeypatch.setattr(base, "EXPLAIN_BLOCK_CELLS", block_cells)
    data = synthetic_data()
    model, _ = fitted(name, data)
    users = np.arange(12)
    history = data.matrix[users]
    top_items, _ = model.recommend(users, history, 10)
    top_items[3] = top_items[3][:0]  # a user with nothing to explain

    many = model.explain_rows(history, top_items)

    single = [model.explain(history[row], top_items[row]) for row in range(12)]
    assert many == single
    explaining = {"content", "ease", "item_knn", "ranker"}
    assert any(cause is not None for row in many for cause in row) == (
        name in explaining
    )


@pytest.mark.parametrize("name", ["ease", "item_knn", "ranker"])
def test_explain_rows_takes_lists(name):
    model, data = fitted(name)
    history = data.matrix[:3]
    top_items, _ = model.recommend(np.arange(3), history, 5)

    rows = [top_items[0].tolist(), [], top_items[2].tolist()]

    from_lists = model.explain_rows(history, rows)

    single = [model.explain(history[row], items) for row, items in enumerate(rows)]
    assert from_lists == single
