"""Item-based and user-based nearest-neighbour collaborative filtering."""

from typing import Any, Self

import numpy as np
from scipy import sparse

from recommendations.algorithms.base import (
    ItemWeightsExplainer,
    Recommender,
    register,
)
from recommendations.dataset import InteractionData

SIMILARITIES = ("cosine", "jaccard")
# Target items per block of the item-item product: the dense block is
# n_items x 512 float32, 40 MB for a 20,000-item catalogue.
ITEM_BLOCK = 512
# Users per block when user-kNN scores: the block is 256 x n_users floats.
USER_BLOCK = 256


def check_knn_params(neighbours: int, shrinkage: float, similarity: str) -> None:
    if neighbours < 1:
        raise ValueError(f"neighbours={neighbours} must be at least 1.")
    if not np.isfinite(shrinkage) or shrinkage < 0:
        raise ValueError(f"shrinkage={shrinkage} must be a finite value >= 0.")
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"similarity={similarity!r} is not supported: use one of {SIMILARITIES}."
        )


def similarity_from_counts(
    co_counts: np.ndarray,
    support_rows: np.ndarray,
    support_cols: np.ndarray,
    similarity: str,
    shrinkage: float,
) -> np.ndarray:
    """Turn co-occurrence counts into similarities, damped by shrinkage.

    cosine: co / (sqrt(n_i * n_j) + shrinkage); jaccard: co / (n_i + n_j -
    co + shrinkage). Shrinkage lowers pairs supported by few users.
    """
    if similarity == "cosine":
        norms = np.sqrt(np.outer(support_rows, support_cols))
    else:
        norms = support_rows[:, None] + support_cols[None, :] - co_counts
    return co_counts / np.maximum(norms + shrinkage, 1e-12)


def top_k_per_column(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the row indices and values of the k largest entries per column."""
    k = min(k, block.shape[0])
    # Copy, so the kept rows do not hold on to the whole partitioned block.
    rows = np.argpartition(-block, k - 1, axis=0)[:k].copy()
    values = np.take_along_axis(block, rows, axis=0)
    return rows, values


class Neighbourhood(Recommender):
    """Shared hyperparameters of the neighbourhood models."""

    def __init__(
        self, neighbours: int, shrinkage: float, similarity: str = "cosine"
    ) -> None:
        super().__init__(
            neighbours=neighbours, shrinkage=shrinkage, similarity=similarity
        )
        check_knn_params(neighbours, shrinkage, similarity)
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.similarity = similarity


@register
class ItemKNN(ItemWeightsExplainer, Neighbourhood):
    """Score items by their similarity to the items a user interacted with.

    similarity_ is an (n_items, n_items) CSR matrix whose column j keeps the
    `neighbours` items most similar to item j, so its memory is
    O(n_items * neighbours). The item-item co-occurrence counts are computed
    one block of target items at a time, so the full n_items^2 product never
    exists at once.
    """

    name = "item_knn"

    # Chosen on the validation split (benchmarks/tune.py).
    def __init__(
        self, neighbours: int = 200, shrinkage: float = 50.0, similarity="cosine"
    ) -> None:
        super().__init__(neighbours, shrinkage, similarity)

    def fit(self, data: InteractionData) -> Self:
        matrix = data.matrix.tocsc().astype(np.float32)
        support = np.asarray(matrix.sum(axis=0)).ravel()
        transposed = matrix.T.tocsr()

        def similarity_block(columns: np.ndarray) -> np.ndarray:
            counts = (transposed @ matrix[:, columns]).toarray()
            return similarity_from_counts(
                counts, support, support[columns], self.similarity, self.shrinkage
            )

        self.similarity_ = top_neighbours(
            similarity_block, data.n_items, self.neighbours
        )
        self.n_items_ = data.n_items
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        return (history.astype(np.float32) @ self.similarity_).toarray()

    def item_weights(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.similarity_[seen][:, items].toarray()

    def get_state(self) -> dict[str, Any]:
        return {"similarity_": self.similarity_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.similarity_ = state["similarity_"]
        self.n_items_ = self.similarity_.shape[0]


def top_neighbours(similarity_block, n_items: int, k: int) -> sparse.csr_matrix:
    """Keep each item's k most similar items, one block of target items at a time.

    similarity_block(columns) returns the dense (n_items, len(columns))
    similarities of every item to the target columns. The result's column j
    contains item j's neighbours; the diagonal and non-positive values are
    dropped.
    """
    rows, cols, values = [], [], []
    for start in range(0, n_items, ITEM_BLOCK):
        columns = np.arange(start, min(start + ITEM_BLOCK, n_items))
        block = similarity_block(columns)
        block[columns, np.arange(len(columns))] = 0.0
        top_rows, top_values = top_k_per_column(block, k)
        rows.append(top_rows.ravel())
        cols.append(np.broadcast_to(columns, top_rows.shape).ravel())
        values.append(top_values.ravel())
    return build_sparse(rows, cols, values, n_items)


def build_sparse(rows, cols, values, n_items: int) -> sparse.csr_matrix:
    """Assemble the kept neighbours into a CSR matrix without zero entries."""
    if rows:
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        values = np.concatenate(values).astype(np.float32)
    else:
        rows = cols = np.zeros(0, np.int64)
        values = np.zeros(0, np.float32)
    keep = values > 0
    matrix = sparse.csr_matrix(
        (values[keep], (rows[keep], cols[keep])), shape=(n_items, n_items)
    )
    matrix.sort_indices()
    return matrix


@register
class UserKNN(Neighbourhood):
    """Score items by what the users most similar to this one interacted with.

    Neighbours are found at scoring time from the user's history row, so a
    user who was not in the training data is scored the same way. The model
    keeps the training matrix (matrix_, n_users x n_items, binary CSR), so
    its memory is that of the interaction data.
    """

    name = "user_knn"

    # Chosen on the validation split (benchmarks/tune.py).
    def __init__(
        self, neighbours: int = 100, shrinkage: float = 0.0, similarity="cosine"
    ) -> None:
        super().__init__(neighbours, shrinkage, similarity)

    def fit(self, data: InteractionData) -> Self:
        self.matrix_ = data.matrix.astype(np.float32).tocsr()
        self.n_items_ = data.n_items
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        history = history.astype(np.float32).tocsr()
        scores = np.zeros((history.shape[0], self.n_items_), dtype=np.float32)
        if not self.matrix_.shape[0]:
            return scores

        support = np.asarray(self.matrix_.sum(axis=1)).ravel()
        own_support = np.asarray(history.sum(axis=1)).ravel()
        for start in range(0, history.shape[0], USER_BLOCK):
            stop = min(start + USER_BLOCK, history.shape[0])
            counts = (history[start:stop] @ self.matrix_.T).toarray()
            block = similarity_from_counts(
                counts.T, support, own_support[start:stop], self.similarity,
                self.shrinkage,
            )  # fmt: skip
            # A trained user is not their own neighbour.
            own = np.asarray(user_indices[start:stop])
            known = own >= 0
            block[own[known], np.flatnonzero(known)] = 0.0
            top_rows, top_values = top_k_per_column(block, self.neighbours)
            weights = np.zeros_like(block)
            np.put_along_axis(weights, top_rows, top_values, axis=0)
            scores[start:stop] = (self.matrix_.T @ weights).T
        return scores

    def get_state(self) -> dict[str, Any]:
        return {"matrix_": self.matrix_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.matrix_ = state["matrix_"]
        self.n_items_ = self.matrix_.shape[1]
