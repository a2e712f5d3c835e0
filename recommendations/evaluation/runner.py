"""Fit registered algorithms on a split and measure them on its held-out part."""

import logging
import time
import tracemalloc
from collections.abc import Iterable

import numpy as np

from recommendations.algorithms import REGISTRY, get_algorithm
from recommendations.algorithms.base import Recommender
from recommendations.evaluation.metrics import ranking_metrics
from recommendations.evaluation.splits import Split

logger = logging.getLogger(__name__)
SCORING_BATCH = 512  # users per scoring call: 512 x 1,682 float64 is 7 MB


def recommend_lists(model: Recommender, split: Split, k: int) -> dict[int, list[int]]:
    """Return the top-k unseen items for every user with held-out items."""
    users = np.array(sorted(split.test), dtype=np.int64)
    lists: dict[int, list[int]] = {}
    for start in range(0, len(users), SCORING_BATCH):
        batch = users[start : start + SCORING_BATCH]
        history = split.train.matrix[batch]
        top_items, _ = model.recommend(batch, history, k, exclude_seen=True)
        for user, items in zip(batch, top_items, strict=True):
            lists[int(user)] = [int(item) for item in items]
    return lists


def evaluate_algorithm(
    name: str, split: Split, k: int = 10, params: dict | None = None
) -> dict[str, float]:
    """Fit one algorithm on split.train and return its metrics and costs.

    peak_memory_mb is the peak of allocations traced by tracemalloc during
    fit and scoring: numpy and SciPy arrays are included, memory allocated
    natively by extension code outside numpy (implicit's, TensorFlow's) is
    not. The scaling benchmark measures whole-process memory instead.
    """
    model_class = get_algorithm(name)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        model = model_class(**(params or {})).fit(split.train)
        trained = time.perf_counter()
        lists = recommend_lists(model, split, k)
        finished = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    metrics = ranking_metrics(lists, split.test, k, split.train.n_items)
    metrics.update(
        train_seconds=round(trained - started, 3),
        recommend_seconds=round(finished - trained, 3),
        peak_memory_mb=round(peak / 2**20, 1),
    )
    logger.info(
        "Evaluated %s on the %s split: ndcg@%s %.4f in %.2f s",
        name,
        split.name,
        k,
        metrics[f"ndcg@{k}"],
        metrics["train_seconds"],
    )
    return metrics


def evaluate_all(
    split: Split,
    k: int = 10,
    algorithms: Iterable[str] | None = None,
    params: dict[str, dict] | None = None,
) -> dict[str, dict]:
    """Evaluate each algorithm (default: every registered one) on one split.

    An algorithm that cannot run on this data, such as EASE above its item
    limit, is reported with its error instead of metrics.
    """
    names = list(algorithms) if algorithms is not None else sorted(REGISTRY)
    params = params or {}
    results: dict[str, dict] = {}
    for name in names:
        try:
            results[name] = evaluate_algorithm(name, split, k, params.get(name))
        except (ValueError, MemoryError) as error:
            logger.warning("Skipped %s on the %s split: %s", name, split.name, error)
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results
