"""Matrix factorization for implicit feedback: ALS and BPR from `implicit`.

implicit (0.7) is the field's standard CPU implementation of both, written
in Cython with OpenMP. Only the learned factors are kept, as numpy arrays,
so a saved model loads without implicit's own pickles.
"""

from typing import Any, Self

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from recommendations.algorithms.base import Recommender, register
from recommendations.dataset import InteractionData


def check_positive(**values: float) -> None:
    for key, value in values.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{key}={value} must be a finite value > 0.")


class FactorModel(Recommender):
    """Shared scoring: a user vector dotted with every item vector.

    user_factors_ is (n_users, factors) and item_factors_ is (n_items,
    factors). A user the model was not trained on (index -1) gets a vector
    folded in from their history by fold_in.
    """

    def build(self):
        raise NotImplementedError

    def fit(self, data: InteractionData) -> Self:
        if not data.n_users or not data.n_items or not data.matrix.nnz:
            self.user_factors_ = np.zeros((data.n_users, self.factors), np.float32)
            self.item_factors_ = np.zeros((data.n_items, self.factors), np.float32)
            self.n_items_ = data.n_items
            return self

        # implicit runs its own threads; nested BLAS threads only oversubscribe
        # the cores, and implicit warns about them.
        with threadpool_limits(limits=1, user_api="blas"):
            model = self.build()
            model.fit(data.matrix.astype(np.float32).tocsr(), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.n_items_ = data.n_items
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        user_indices = np.asarray(user_indices, dtype=np.int64)
        vectors = np.zeros((len(user_indices), self.item_factors_.shape[1]), np.float32)
        known = (user_indices >= 0) & (user_indices < len(self.user_factors_))
        vectors[known] = self.user_factors_[user_indices[known]]
        unknown = np.flatnonzero(~known)
        if len(unknown):
            vectors[unknown] = self.fold_in(history[unknown])
        return vectors @ self.item_factors_.T

    def fold_in(self, history: sparse.csr_matrix) -> np.ndarray:
        """Return user vectors for histories the model was not trained on."""
        raise NotImplementedError

    def get_state(self) -> dict[str, Any]:
        return {
            "user_factors_": self.user_factors_,
            "item_factors_": self.item_factors_,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.user_factors_ = state["user_factors_"]
        self.item_factors_ = state["item_factors_"]
        self.n_items_ = len(self.item_factors_)


@register
class ALS(FactorModel):
    """Alternating least squares with confidence 1 + alpha (Hu, Koren, Volinsky).

    Defaults were chosen on a validation split carved from the MovieLens
    100K training part (benchmarks/tune.py).
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 30.0,
        alpha: float = 5.0,
        iterations: int = 15,
        random_state: int = 42,
        num_threads: int = 2,
    ) -> None:
        super().__init__(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
            num_threads=num_threads,
        )
        check_positive(factors=factors, regularization=regularization, alpha=alpha)
        check_positive(iterations=iterations)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def build(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )

    def fold_in(self, history: sparse.csr_matrix) -> np.ndarray:
        """Solve the ALS user step for each history, as training would.

        With confidence c = 1 + alpha on seen items: x = (Y^T Y + alpha *
        Y_s^T Y_s + reg * I)^-1 (1 + alpha) Y_s^T 1.
        """
        items = self.item_factors_.astype(np.float64)
        gram = items.T @ items + self.regularization * np.eye(items.shape[1])
        vectors = np.zeros((history.shape[0], items.shape[1]), np.float32)
        for row in range(history.shape[0]):
            seen = items[history[row].indices]
            if not len(seen):
                continue
            lhs = gram + self.alpha * seen.T @ seen
            rhs = (1.0 + self.alpha) * seen.sum(axis=0)
            vectors[row] = np.linalg.solve(lhs, rhs)
        return vectors


@register
class BPR(FactorModel):
    """Bayesian personalized ranking with SGD over sampled negative items.

    implicit appends an item bias to the factors, so item_factors_ has
    factors + 1 columns. One thread keeps runs repeatable for a fixed
    random_state, because parallel SGD updates race.
    """

    name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.005,
        regularization: float = 0.05,
        iterations: int = 100,
        random_state: int = 42,
        num_threads: int = 1,
    ) -> None:
        super().__init__(
            factors=factors,
            learning_rate=learning_rate,
            regularization=regularization,
            iterations=iterations,
            random_state=random_state,
            num_threads=num_threads,
        )
        check_positive(factors=factors, learning_rate=learning_rate)
        check_positive(regularization=regularization, iterations=iterations)
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def build(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )

    def fold_in(self, history: sparse.csr_matrix) -> np.ndarray:
        """Return the mean vector of the seen items.

        NOTE: a heuristic, not a BPR solution: it ranks items similar to the
        history first, with the bias column kept at 1 so popular items rank
        ahead of unpopular ones.
        """
        counts = np.asarray(history.sum(axis=1)).ravel()
        sums = np.asarray(history.astype(np.float32) @ self.item_factors_)
        vectors = sums / np.maximum(counts, 1.0)[:, None]
        vectors[:, -1] = 1.0
        return vectors.astype(np.float32)
