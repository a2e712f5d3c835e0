"""Item-based nearest-neighbour collaborative filtering on sparse matrices."""

from typing import Any, Self

import numpy as np
from scipy import sparse

from recommendations.algorithms.base import Recommender, register
from recommendations.dataset import InteractionData


@register
class ItemKNN(Recommender):
    """Score items by their similarity to the items a user interacted with.

    similarity_ is an (n_items, n_items) CSR matrix whose row i keeps the
    neighbours most similar to item i: at most `neighbours` entries, so its
    memory is O(n_items * neighbours). Similarity is cosine over the binary
    user vectors, damped by a shrinkage term so that pairs seen together by
    few users count less: sim(i, j) = co(i, j) / (sqrt(n_i * n_j) + shrinkage).
    """

    name = "item_knn"

    def __init__(self, neighbours: int = 100, shrinkage: float = 10.0) -> None:
        super().__init__(neighbours=neighbours, shrinkage=shrinkage)
        if neighbours < 1:
            raise ValueError(f"neighbours={neighbours} must be at least 1.")
        if not np.isfinite(shrinkage) or shrinkage < 0:
            raise ValueError(f"shrinkage={shrinkage} must be a finite value >= 0.")
        self.neighbours = neighbours
        self.shrinkage = shrinkage

    def fit(self, data: InteractionData) -> Self:
        matrix = data.matrix.tocsc().astype(np.float32)
        co_counts = (matrix.T @ matrix).tocsr()
        co_counts.setdiag(0)
        co_counts.eliminate_zeros()

        support = np.asarray(matrix.sum(axis=0)).ravel()
        rows, cols = co_counts.nonzero()
        norms = np.sqrt(support[rows] * support[cols]) + self.shrinkage
        values = np.asarray(co_counts[rows, cols]).ravel() / np.maximum(norms, 1e-12)
        similarity = sparse.csr_matrix(
            (values.astype(np.float32), (rows, cols)), shape=co_counts.shape
        )
        self.similarity_ = keep_top_per_row(similarity, self.neighbours)
        self.n_items_ = data.n_items
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        return (history.astype(np.float32) @ self.similarity_).toarray()

    def explain(
        self, history_row: sparse.csr_matrix, item_indices: np.ndarray
    ) -> list[int | None]:
        seen = history_row.indices
        if not len(seen) or not len(item_indices):
            return [None] * len(item_indices)

        block = self.similarity_[seen][:, item_indices].toarray()
        best = block.argmax(axis=0)
        return [
            int(seen[best[j]]) if block[best[j], j] > 0 else None
            for j in range(len(item_indices))
        ]

    def get_state(self) -> dict[str, Any]:
        return {"similarity_": self.similarity_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.similarity_ = state["similarity_"]
        self.n_items_ = self.similarity_.shape[0]


def keep_top_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Keep the k largest entries of each row of a CSR matrix."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = matrix.data[start:end]
        cols = matrix.indices[start:end]
        if len(values) > k:
            keep = np.argpartition(-values, k - 1)[:k]
            values, cols = values[keep], cols[keep]
        indices.append(cols)
        data.append(values)
        indptr.append(indptr[-1] + len(values))
    return sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int32),
            np.asarray(indptr),
        ),
        shape=matrix.shape,
    )
