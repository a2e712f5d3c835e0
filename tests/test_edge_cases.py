"""Degenerate data never crashes a recommender nor yields NaN or bad ids."""

import numpy as np
import pytest
from scipy import sparse

from recommendations.algorithms import REGISTRY, get_algorithm
from tests.engine_data import frame_data, synthetic_data

FAST_PARAMS = {
    "ranker": {"sources": ["ease", "item_knn", "popularity"], "candidates": 5},
    "als": {"iterations": 2},
    "bpr": {"iterations": 2},
}
ALGORITHMS = sorted(REGISTRY)


def top_lists(name, data, users, n):
    model = get_algorithm(name)(**FAST_PARAMS.get(name, {})).fit(data)
    if data.n_users:
        history = data.matrix[users]
    else:  # user -1, unknown to a model trained on nothing
        history = sparse.csr_matrix((len(users), data.n_items), dtype=np.float32)
    return model.recommend(np.asarray(users), history, n)


def assert_valid(items, scores, n_items):
    for row_items, row_scores in zip(items, scores, strict=True):
        assert np.isfinite(row_scores).all()
        assert ((row_items >= 0) & (row_items < n_items)).all()
        assert len(set(row_items.tolist())) == len(row_items)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_no_interactions_at_all(name):
    data = frame_data([], n_items=5)

    items, scores = top_lists(name, data, [-1], 3)

    assert_valid(items, scores, 5)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_one_user(name):
    data = frame_data([(1, 1, 5.0, 10), (1, 2, 3.0, 20), (1, 3, 4.0, 30)], n_items=6)

    items, scores = top_lists(name, data, [0], 3)

    assert_valid(items, scores, 6)
    assert not {0, 1, 2} & set(items[0].tolist())


@pytest.mark.parametrize("name", ALGORITHMS)
def test_user_whose_ratings_are_all_zero(name):
    rows = [(1, item, 0.0, item) for item in range(1, 5)]
    rows += [(2, item, 4.0, item) for item in range(3, 8)]
    data = frame_data(rows, n_items=8)

    items, scores = top_lists(name, data, [0, 1], 4)

    assert_valid(items, scores, 8)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_item_seen_by_nobody(name):
    data = synthetic_data(n_items=42)  # items 41 and 42 have no interactions

    items, scores = top_lists(name, data, [0, 1], 42)

    assert_valid(items, scores, 42)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_duplicate_interactions_count_once(name):
    rows = [(1, 1, 5.0, 10)] * 3 + [(1, 2, 4.0, 20), (2, 2, 3.0, 5), (2, 3, 1.0, 6)]
    data = frame_data(rows, n_items=4)

    items, scores = top_lists(name, data, [0, 1], 4)

    assert data.matrix.max() == 1.0
    assert_valid(items, scores, 4)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_more_items_requested_than_exist(name):
    data = synthetic_data(n_items=12, per_user=5)

    items, scores = top_lists(name, data, [0], 50)

    assert_valid(items, scores, 12)
    assert len(items[0]) == 12 - data.matrix[0].nnz
