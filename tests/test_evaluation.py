"""Ranking metrics on hand-computed cases, splits and the evaluate command."""

import json
import math

import pytest
from django.core.management import call_command

from recommendations.evaluation import evaluate_all, ranking_metrics, split_data
from recommendations.evaluation.metrics import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from tests.conftest import SLICE_DIR
from tests.engine_data import synthetic_data


def test_ndcg_graded_gains_matches_hand_computation():
    # Eight relevant items graded 3, 2, 3, 0, 1, 2, 3, 2; the first six are
    # ranked in that order. DCG@6 = 6.861, ideal 3, 3, 3, 2, 2, 2 = 8.740.
    grades = [3, 2, 3, 0, 1, 2, 3, 2]
    gains = dict(enumerate(grades))
    ranked = [0, 1, 2, 3, 4, 5]

    assert ndcg_at_k(ranked, set(gains), 6, gains=gains) == pytest.approx(
        0.785, abs=5e-4
    )


def test_ndcg_single_hit_at_rank_one_among_five():
    # DCG = 1; IDCG@5 = 1 + 1/log2(3) + 1/2 + 1/log2(5) + 1/log2(6) = 2.948.
    relevant = {10, 11, 12, 13, 14}

    assert ndcg_at_k([10, 1, 2, 3, 4], relevant, 5) == pytest.approx(0.339, abs=5e-4)


def test_precision_divides_by_k_not_list_length():
    assert precision_at_k([1, 2], {1, 2}, 10) == pytest.approx(0.2)


def test_recall_divides_by_relevant_count():
    assert recall_at_k([1, 9, 2], {1, 2, 3, 4}, 3) == pytest.approx(0.5)


def test_average_precision_divides_by_relevant_count():
    # Hits at ranks 1 and 3: (1/1 + 2/3) / 4 relevant items.
    ap = average_precision_at_k([1, 9, 2], {1, 2, 3, 4}, 3)

    assert ap == pytest.approx((1 + 2 / 3) / 4)


def test_ranking_metrics_average_and_coverage():
    lists = {0: [1, 2], 1: [3, 4]}
    relevant = {0: {1}, 1: {5}}

    metrics = ranking_metrics(lists, relevant, 2, n_items=8)

    assert metrics["precision@2"] == pytest.approx(0.25)
    assert metrics["ndcg@2"] == pytest.approx(0.5)
    assert metrics["coverage"] == pytest.approx(0.5)


def test_metrics_reject_zero_k():
    with pytest.raises(ValueError, match="k=0"):
        precision_at_k([1], {1}, 0)


def test_stratified_split_holds_out_a_quarter_per_user():
    data = synthetic_data(per_user=8)

    split = split_data(data, "stratified", seed=42)

    train_counts = split.train.matrix.getnnz(axis=1)
    assert set(train_counts) == {6}
    assert all(len(items) == 2 for items in split.test.values())


def test_stratified_split_is_repeatable_with_seed():
    data = synthetic_data()

    first = split_data(data, "stratified", seed=42)
    second = split_data(data, "stratified", seed=42)

    assert first.test == second.test


def test_held_out_items_are_not_in_training():
    split = split_data(synthetic_data(), "stratified")

    for user, items in split.test.items():
        assert not set(split.train.matrix[user].indices) & items


def test_temporal_split_holds_out_newest():
    data = synthetic_data(per_user=8)

    split = split_data(data, "temporal")

    newest = data.events.sort_values("timestamp").groupby("user").tail(2)
    expected = {}
    for user, item in zip(newest["user"], newest["item"], strict=True):
        expected.setdefault(int(user), set()).add(int(item))
    assert split.test == expected


def test_evaluate_all_reports_every_metric():
    split = split_data(synthetic_data(), "stratified")

    results = evaluate_all(split, 5, ["popularity", "ease"])

    for name in ("popularity", "ease"):
        for key in ("ndcg@5", "map", "coverage", "train_seconds", "peak_memory_mb"):
            assert math.isfinite(results[name][key]), (name, key)


def test_ease_beats_popularity_on_structured_data():
    split = split_data(synthetic_data(), "stratified")

    results = evaluate_all(split, 5, ["popularity", "ease"])

    assert results["ease"]["ndcg@5"] > results["popularity"]["ndcg@5"]


@pytest.mark.slow
@pytest.mark.django_db
def test_evaluate_command_writes_json_per_algorithm(tmp_path):
    target = tmp_path / "results.json"

    call_command(
        "evaluate", "--source", "movielens", "--path", str(SLICE_DIR),
        "--split", "temporal", "--k", "10", "--json", str(target),
        "--algorithm", "popularity", "--algorithm", "item_knn",
    )  # fmt: skip

    results = json.loads(target.read_text())
    assert set(results) == {"popularity", "item_knn"}
    assert 0 <= results["item_knn"]["ndcg@10"] <= 1
