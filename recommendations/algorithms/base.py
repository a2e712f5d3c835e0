"""The interface every recommender implements, and the registry of them.

A recommender follows the scikit-learn estimator contract: __init__ stores
hyperparameters, fit returns self, and learned attributes end in an
underscore. Training, evaluation and serving loop over REGISTRY, so adding
an algorithm is one subclass with a registered name.
"""

import json
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from scipy import sparse

from recommendations.dataset import InteractionData

REGISTRY: dict[str, type["Recommender"]] = {}
STATE_FILE = "state.npz"
PARAMS_FILE = "params.json"
# Largest block of item weights explain_rows reads at once: 32 MB of float64.
EXPLAIN_BLOCK_CELLS = 4_000_000


def register(cls: type["Recommender"]) -> type["Recommender"]:
    if cls.name in REGISTRY:
        raise ValueError(f"Recommender name {cls.name!r} is already registered.")
    REGISTRY[cls.name] = cls
    return cls


def get_algorithm(name: str) -> type["Recommender"]:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"Unknown algorithm {name!r}; known: {known}.") from None


class NotFittedError(RuntimeError):
    pass


class Recommender:
    """Base class: subclasses implement fit, score, get_state and set_state."""

    name: ClassVar[str] = ""
    # Whether results are personal; popularity is not, so serving may use
    # it for users without personalization consent.
    personal: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        self.params = params

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    def fit(self, data: InteractionData) -> Self:
        raise NotImplementedError

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        """Return a dense float array of shape (len(user_indices), n_items).

        user_indices are rows of the training matrix, or -1 for a user the
        model was not trained on; history contains the same users' binary
        interaction rows, which neighbourhood models score from.
        """
        raise NotImplementedError

    def explain(
        self, history_row: sparse.csr_matrix, item_indices: np.ndarray
    ) -> list[int | None]:
        """Return, per recommended item, the index of the seen item behind it."""
        return [None] * len(item_indices)

    def explain_rows(
        self, history: sparse.csr_matrix, item_rows: list[np.ndarray]
    ) -> list[list[int | None]]:
        """Return explain() for each row of history with its own items."""
        return [
            self.explain(history[row], items) for row, items in enumerate(item_rows)
        ]

    def recommend(
        self,
        user_indices: np.ndarray,
        history: sparse.csr_matrix,
        n: int,
        exclude_seen: bool = True,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return the top-n item indices and scores for each user, best first.

        Items in a user's history are skipped when exclude_seen is set. A user
        gets fewer than n items when fewer remain, never an index outside the
        catalogue and never a NaN score.
        """
        self._check_fitted()
        user_indices = np.asarray(user_indices, dtype=np.int64)
        history = sparse.csr_matrix(history)
        scores = np.array(self.score(user_indices, history), dtype=np.float64)
        scores[~np.isfinite(scores)] = -np.inf
        if exclude_seen and history.nnz:
            scores[history.nonzero()] = -np.inf

        top_items, top_scores = [], []
        for row in scores:
            top = top_n_indices(row, n)
            top_items.append(top)
            top_scores.append(row[top])
        return top_items, top_scores

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        state = self.get_state()
        arrays = {
            key: value for key, value in state.items() if isinstance(value, np.ndarray)
        }
        for key, value in state.items():
            if sparse.issparse(value):
                sparse.save_npz(directory / f"{key}.sparse.npz", value.tocsr())
        np.savez(directory / STATE_FILE, **arrays)
        (directory / PARAMS_FILE).write_text(
            json.dumps({"name": self.name, "params": self.get_params()})
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        meta = json.loads((directory / PARAMS_FILE).read_text())
        model = cls(**meta["params"])
        with np.load(directory / STATE_FILE, allow_pickle=False) as stored:
            state: dict[str, Any] = {key: stored[key] for key in stored.files}
        for path in directory.glob("*.sparse.npz"):
            state[path.name.removesuffix(".sparse.npz")] = sparse.load_npz(path).tocsr()
        model.set_state(state)
        return model

    def get_state(self) -> dict[str, Any]:
        """Return the learned arrays to save; numpy arrays or sparse matrices."""
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError(f"{self.name} is not fitted: call fit first.")


class ItemWeightsExplainer:
    """Explain an item by the seen item with the largest weight towards it.

    For models that score history @ W with an item-item matrix W; subclasses
    return the (len(seen), len(items)) block of W from item_weights.
    """

    def item_weights(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def explain(
        self, history_row: sparse.csr_matrix, item_indices: np.ndarray
    ) -> list[int | None]:
        seen = history_row.indices
        if not len(seen) or not len(item_indices):
            return [None] * len(item_indices)

        block = self.item_weights(seen, np.asarray(item_indices))
        return strongest_causes(block, seen)

    def explain_rows(
        self, history: sparse.csr_matrix, item_rows: list[np.ndarray]
    ) -> list[list[int | None]]:
        """Explain many rows from one block of weights read for all of them.

        Reading the weights once for the union of seen and recommended items
        replaces one sparse slice per row, the main cost of explaining. When
        that block would exceed EXPLAIN_BLOCK_CELLS, rows are explained one
        by one.
        """
        item_rows = [np.asarray(items, dtype=np.int64) for items in item_rows]
        seen_union = np.unique(history.indices)
        item_union = np.unique(np.concatenate([np.zeros(0, np.int64), *item_rows]))
        if len(seen_union) * len(item_union) > EXPLAIN_BLOCK_CELLS:
            return super().explain_rows(history, item_rows)

        weights = np.asarray(self.item_weights(seen_union, item_union))
        results = []
        for row, items in enumerate(item_rows):
            seen = history.indices[history.indptr[row] : history.indptr[row + 1]]
            if not len(seen) or not len(items):
                results.append([None] * len(items))
                continue
            block = weights[
                np.ix_(
                    np.searchsorted(seen_union, seen),
                    np.searchsorted(item_union, items),
                )
            ]
            results.append(strongest_causes(block, seen))
        return results


def strongest_causes(block: np.ndarray, seen: np.ndarray) -> list[int | None]:
    """Return, per column of block, the seen item with the largest positive weight."""
    best = block.argmax(axis=0)
    strongest = block[best, np.arange(block.shape[1])]
    return [
        int(seen[index]) if weight > 0 else None
        for index, weight in zip(best, strongest, strict=True)
    ]


def top_n_indices(row: np.ndarray, n: int) -> np.ndarray:
    """Return the indices of the n largest finite values, largest first."""
    candidates = np.flatnonzero(np.isfinite(row))
    if n <= 0 or not len(candidates):
        return np.zeros(0, dtype=np.int64)
    if len(candidates) > n:
        part = np.argpartition(-row[candidates], n - 1)[:n]
        candidates = candidates[part]
    order = np.lexsort((candidates, -row[candidates]))
    return candidates[order].astype(np.int64)
