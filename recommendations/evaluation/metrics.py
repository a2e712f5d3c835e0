"""Top-k ranking metrics with the Microsoft Recommenders conventions.

For one user with a ranked list and a set of relevant items:

* precision@k = hits in the top k / k (k, not the list length, divides);
* recall@k = hits in the top k / number of relevant items;
* nDCG@k = DCG@k / IDCG@k with DCG = sum(gain_i / log2(1 + rank_i)); the
  ideal list puts the largest gains of all relevant items first, cut at k.
  Gains are 1 for every relevant item unless graded gains are given;
* MAP = sum over hits in the top k of precision at that rank, divided by
  the number of relevant items (Recommenders' `map`, after Spark MLlib).

Each metric is averaged over the users who have relevant items.
"""

from collections.abc import Mapping, Sequence

import numpy as np


def hits_at_k(recommended: Sequence[int], relevant, k: int) -> np.ndarray:
    return np.array([item in relevant for item in list(recommended)[:k]], dtype=bool)


def precision_at_k(recommended: Sequence[int], relevant, k: int) -> float:
    check_k(k)
    return float(hits_at_k(recommended, relevant, k).sum()) / k


def recall_at_k(recommended: Sequence[int], relevant, k: int) -> float:
    check_k(k)
    if not relevant:
        return 0.0
    return float(hits_at_k(recommended, relevant, k).sum()) / len(relevant)


def ndcg_at_k(
    recommended: Sequence[int], relevant, k: int, gains: Mapping | None = None
) -> float:
    """Return nDCG@k; gains maps item to graded relevance (linear gains)."""
    check_k(k)
    if gains is None:
        gains = dict.fromkeys(relevant, 1.0)
    ranked = [float(gains.get(item, 0.0)) for item in list(recommended)[:k]]
    ideal = sorted((float(g) for g in gains.values()), reverse=True)[:k]
    idcg = discounted_sum(ideal)
    if idcg <= 0:
        return 0.0
    return discounted_sum(ranked) / idcg


def discounted_sum(gains: list[float]) -> float:
    if not gains:
        return 0.0
    ranks = np.arange(1, len(gains) + 1)
    return float(np.sum(np.asarray(gains) / np.log2(ranks + 1)))


def average_precision_at_k(recommended: Sequence[int], relevant, k: int) -> float:
    check_k(k)
    if not relevant:
        return 0.0
    hits = hits_at_k(recommended, relevant, k)
    if not hits.any():
        return 0.0
    ranks = np.flatnonzero(hits) + 1
    precisions = np.arange(1, len(ranks) + 1) / ranks
    return float(precisions.sum()) / len(relevant)


def check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k={k} must be at least 1.")


def ranking_metrics(
    recommended: Mapping[int, Sequence[int]],
    relevant: Mapping[int, set],
    k: int,
    n_items: int,
) -> dict[str, float]:
    """Average the per-user metrics over users with relevant items.

    recommended maps user to ranked item list, relevant maps user to the set
    of held-out items. A user with relevant items and no list scores zero.
    coverage is the share of the n_items catalogue in any user's top k.
    """
    users = [user for user, items in relevant.items() if items]
    totals = dict.fromkeys(("precision", "recall", "ndcg", "map"), 0.0)
    shown: set[int] = set()
    for user in users:
        ranked = list(recommended.get(user, []))[:k]
        shown.update(ranked)
        totals["precision"] += precision_at_k(ranked, relevant[user], k)
        totals["recall"] += recall_at_k(ranked, relevant[user], k)
        totals["ndcg"] += ndcg_at_k(ranked, relevant[user], k)
        totals["map"] += average_precision_at_k(ranked, relevant[user], k)

    count = max(len(users), 1)
    return {
        f"precision@{k}": totals["precision"] / count,
        f"recall@{k}": totals["recall"] / count,
        f"ndcg@{k}": totals["ndcg"] / count,
        "map": totals["map"] / count,
        "coverage": len(shown) / n_items if n_items else 0.0,
        "users": len(users),
    }
