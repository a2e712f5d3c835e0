"""Features the ranker scores each (user, candidate item) pair on.

Per source recommender: the score standardized over the user's unseen
items, the reciprocal rank, and whether the item is in that source's top
candidates. Per item: log popularity and log days since anyone last
interacted with it. Per pair: the user's affinity to the item's categories.
Per user: log history length.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from recommendations.dataset import InteractionData

SECONDS_PER_DAY = 86_400.0
PER_SOURCE = ("score", "top_gap", "reciprocal_rank", "log_rank", "in_top")
GLOBAL = ("log_popularity", "log_days_since_seen", "category_affinity", "log_history")


def feature_names(sources: list[str]) -> list[str]:
    names = [f"{source}_{kind}" for source in sources for kind in PER_SOURCE]
    return names + list(GLOBAL)


@dataclass
class ItemStatistics:
    """Item popularity, last interaction time and a binary item-category matrix."""

    popularity: np.ndarray
    days_since_seen: np.ndarray
    categories: sparse.csr_matrix

    def __post_init__(self) -> None:
        # Dense (n_items, n_categories) copy: row lookups on it are much
        # cheaper than on the sparse matrix when one user is scored at a time.
        self.dense_categories = self.categories.toarray()

    @classmethod
    def from_data(cls, data: InteractionData) -> "ItemStatistics":
        popularity = np.asarray(data.matrix.sum(axis=0)).ravel().astype(np.float64)
        last_seen = np.full(data.n_items, np.nan)
        if len(data.events):
            latest = data.events.groupby("item")["timestamp"].max()
            last_seen[latest.index.to_numpy()] = latest.to_numpy()
            newest = float(data.events["timestamp"].max())
        else:
            newest = 0.0
        days = (newest - last_seen) / SECONDS_PER_DAY
        # An item nobody interacted with counts as older than every other.
        oldest = np.nanmax(days) + 1 if np.isfinite(days).any() else 0.0
        days = np.where(np.isfinite(days), days, oldest)
        return cls(popularity, np.maximum(days, 0.0), category_matrix(data))

    def to_state(self) -> dict:
        return {
            "item_popularity_": self.popularity,
            "item_days_since_seen_": self.days_since_seen,
            "item_categories_": self.categories,
        }

    @classmethod
    def from_state(cls, state: dict) -> "ItemStatistics":
        return cls(
            state["item_popularity_"],
            state["item_days_since_seen_"],
            sparse.csr_matrix(state["item_categories_"]),
        )


def category_matrix(data: InteractionData) -> sparse.csr_matrix:
    """Return an (n_items, n_categories) binary matrix; one column if none."""
    column = data.item_features.get("categories")
    if column is None or len(column) != data.n_items:
        return sparse.csr_matrix((data.n_items, 1), dtype=np.float32)

    lists = [value if isinstance(value, list | tuple) else [] for value in column]
    names = sorted({name for names in lists for name in names})
    if not names:
        return sparse.csr_matrix((data.n_items, 1), dtype=np.float32)
    position = {name: index for index, name in enumerate(names)}
    rows = [row for row, names in enumerate(lists) for _ in names]
    cols = [position[name] for names in lists for name in names]
    values = np.ones(len(rows), dtype=np.float32)
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(data.n_items, len(names)))
    matrix.data[:] = 1.0
    return matrix


def standardized(scores: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Standardize each row over its unseen items; non-finite values become 0."""
    values = np.where(np.isfinite(scores), scores, np.nan)
    values[seen] = np.nan
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=1, keepdims=True)
        std = np.nanstd(values, axis=1, keepdims=True)
    mean = np.nan_to_num(mean)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    result = (np.nan_to_num(values, nan=mean.min() if mean.size else 0.0) - mean) / std
    return np.nan_to_num(result, nan=0.0, posinf=0.0, neginf=0.0)


def gap_to_top(scores: np.ndarray, ranks: np.ndarray, depth: int) -> np.ndarray:
    """Scale each row so its best unseen item is 0 and its depth-th best is -1."""
    depth = min(depth, scores.shape[1])
    best = np.take_along_axis(scores, np.argmin(ranks, axis=1)[:, None], axis=1)
    at_depth = np.take_along_axis(
        scores, np.argmax(ranks == depth, axis=1)[:, None], axis=1
    )
    spread = best - at_depth
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    gap = (scores - np.where(np.isfinite(best), best, 0.0)) / spread
    return np.clip(np.nan_to_num(gap, nan=-10.0, neginf=-10.0), -10.0, 0.0)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """Return 1-based ranks per row, best score first."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, scores.shape[1] + 1)
    return ranks


def candidate_features(
    models: dict,
    sources: list[str],
    stats: ItemStatistics,
    users: np.ndarray,
    history: sparse.csr_matrix,
    n_candidates: int,
    with_fallback: bool = False,
):
    """Return rows, items and the feature matrix of each user's candidates.

    Candidates are the unseen items in any source's top n_candidates. With
    with_fallback, also return an (n_users, n_items) array in [0, 1) that
    orders every item by the first source, for items outside the candidates.
    """
    history = sparse.csr_matrix(history)
    n_users, n_items = history.shape
    seen = history.toarray() > 0
    in_candidates = np.zeros((n_users, n_items), dtype=bool)
    per_source = []
    fallback = None
    for name in sources:
        raw = np.asarray(models[name].score(users, history), dtype=np.float64)
        raw = np.where(np.isfinite(raw), raw, -np.inf)
        raw[seen] = -np.inf
        ranks = ranks_of(raw)
        top = ranks <= n_candidates
        in_candidates |= top
        per_source.append(
            (
                standardized(raw, seen),
                gap_to_top(raw, ranks, n_candidates),
                1.0 / ranks,
                np.log(ranks),
                top,
            )
        )
        if fallback is None:
            fallback = 1.0 - ranks / (n_items + 1.0)

    in_candidates &= ~seen
    rows, items = np.nonzero(in_candidates)
    columns = []
    for arrays in per_source:
        columns += [array[rows, items] for array in arrays]
    columns += item_and_user_columns(stats, history, rows, items)
    features = (
        np.column_stack(columns).astype(np.float64)
        if len(rows)
        else (np.zeros((0, len(feature_names(sources)))))
    )
    if with_fallback:
        return rows, items, features, fallback
    return rows, items, features


def item_and_user_columns(stats, history, rows, items) -> list[np.ndarray]:
    counts = np.asarray(history.sum(axis=1)).ravel()
    categories = stats.dense_categories
    shares = (history @ categories) / np.maximum(counts, 1.0)[:, None]
    item_category_counts = categories.sum(axis=1)
    affinity = np.einsum("ij,ij->i", shares[rows], categories[items]) / np.maximum(
        item_category_counts[items], 1.0
    )
    return [
        np.log1p(stats.popularity[items]),
        np.log1p(stats.days_since_seen[items]),
        affinity,
        np.log1p(counts[rows]),
    ]
