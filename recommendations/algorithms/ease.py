"""EASE: a linear item-item model with a closed-form solution (Steck, 2019)."""

from typing import Any, Self

import numpy as np
from django.conf import settings
from scipy import linalg, sparse

from recommendations.algorithms.base import (
    ItemWeightsExplainer,
    Recommender,
    register,
)
from recommendations.dataset import InteractionData


class CatalogueTooLargeError(ValueError):
    """The catalogue is too large for an algorithm whose memory grows as items^2."""


def ease_memory_bytes(n_items: int) -> int:
    """Estimate EASE's peak memory in bytes from the catalogue size.

    Fitting inverts one float64 n_items x n_items matrix in place (8 bytes
    per item pair) and then keeps float32 weights (4 more). The peak measured
    by benchmarks/scaling.py's method at 5,000 items was 12.9 bytes per pair,
    so 10,000 items need about 1.3 GB and 20,000 items about 5.2 GB.
    """
    return 13 * n_items * n_items


@register
class EASE(ItemWeightsExplainer, Recommender):
    """Score items with an item-item weight matrix learned in closed form.

    weights_ = I - P / diag(P) with P = (X^T X + l2 * I)^-1 and a zero
    diagonal, stored as a dense float32 (n_items, n_items) array. Fitting
    raises CatalogueTooLargeError above max_items items (by default the
    ATTUNE_EASE_MAX_ITEMS setting) rather than exhaust memory.
    """

    name = "ease"

    # Chosen on a validation split carved from the MovieLens 100K training
    # part (benchmarks/tune.py), never on the test part.
    def __init__(self, l2: float = 800.0, max_items: int | None = None) -> None:
        super().__init__(l2=l2, max_items=max_items)
        if not np.isfinite(l2) or l2 <= 0:
            raise ValueError(f"l2={l2} must be a finite value > 0.")
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items={max_items} must be at least 1.")
        self.l2 = l2
        self.max_items = max_items

    def item_limit(self) -> int:
        if self.max_items is not None:
            return self.max_items
        return settings.ATTUNE_EASE_MAX_ITEMS

    def check_size(self, n_items: int) -> None:
        limit = self.item_limit()
        if n_items > limit:
            gigabytes = ease_memory_bytes(n_items) / 1e9
            raise CatalogueTooLargeError(
                f"EASE needs about {gigabytes:.1f} GB for {n_items} items, above "
                f"the limit of {limit} items: raise ATTUNE_EASE_MAX_ITEMS (or "
                "max_items) if the machine has the memory, or use item_knn or als."
            )

    def fit(self, data: InteractionData) -> Self:
        self.check_size(data.n_items)
        matrix = data.matrix.astype(np.float64)
        gram = (matrix.T @ matrix).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        # Inverted and scaled in place, so one float64 matrix exists at a time.
        weights = linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        weights /= -np.diag(weights).copy()
        weights[np.diag_indices_from(weights)] = 0.0
        # LAPACK returns Fortran order; sparse @ dense copies such an operand
        # on every call, so store C order.
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float32)
        self.n_items_ = data.n_items
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(history.astype(np.float32) @ self.weights_)

    def item_weights(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.weights_[np.ix_(seen, items)]

    def get_state(self) -> dict[str, Any]:
        return {"weights_": self.weights_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.weights_ = state["weights_"]
        self.n_items_ = self.weights_.shape[0]
