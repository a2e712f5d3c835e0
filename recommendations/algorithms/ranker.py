"""A learned ranker over the union of the other recommenders' candidates.

Fitting carves a per-user holdout out of the data it is given, fits every
source recommender on the rest, and learns a logistic regression that
predicts whether a candidate is among the user's held-out items. The
sources are then refitted on all the data, and serving scores their
candidates with that regression.
"""

import logging
from pathlib import Path
from typing import Any, Self

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from recommendations.algorithms.base import (
    REGISTRY,
    Recommender,
    get_algorithm,
    register,
)
from recommendations.algorithms.ease import CatalogueTooLargeError
from recommendations.algorithms.ranker_features import (
    ItemStatistics,
    candidate_features,
    feature_names,
)
from recommendations.dataset import InteractionData

logger = logging.getLogger(__name__)

# Chosen on the validation split (benchmarks/tune.py): adding item_knn,
# user_knn, bpr and content lowered validation nDCG@10 from 0.267 to 0.260.
# "deep" is left out for cost: on MovieLens 100K it raised the ranker's
# training from 5 s to 64 s for nDCG@10 0.4996 against 0.4945 on the
# stratified split (manage.py train, 2 busy cores). Pass sources to add it.
DEFAULT_SOURCES = ["ease", "als"]
SOURCES_DIR = "sources"
SCORING_BATCH = 256


@register
class Ranker(Recommender):
    """Logistic regression over source scores, ranks and item features.

    sources names registered algorithms; names that are not registered are
    skipped with a log line, so the ranker works with whatever is installed.
    source_params overrides a source's default hyperparameters.
    """

    name = "ranker"

    def __init__(
        self,
        sources: list[str] | None = None,
        source_params: dict[str, dict] | None = None,
        candidates: int = 30,
        holdout: float = 0.2,
        regularization: float = 0.1,
        random_state: int = 42,
        max_training_users: int = 5_000,
    ) -> None:
        sources = list(DEFAULT_SOURCES if sources is None else sources)
        super().__init__(
            sources=sources,
            source_params=source_params or {},
            candidates=candidates,
            holdout=holdout,
            regularization=regularization,
            random_state=random_state,
            max_training_users=max_training_users,
        )
        if candidates < 1:
            raise ValueError(f"candidates={candidates} must be at least 1.")
        if not 0 < holdout < 1:
            raise ValueError(f"holdout={holdout} must be between 0 and 1.")
        if not np.isfinite(regularization) or regularization <= 0:
            raise ValueError(f"regularization={regularization} must be > 0.")
        self.sources = sources
        self.source_params = source_params or {}
        self.candidates = candidates
        self.holdout = holdout
        self.regularization = regularization
        self.random_state = random_state
        self.max_training_users = max_training_users

    def available_sources(self) -> list[str]:
        names = [
            name for name in self.sources if name in REGISTRY and name != self.name
        ]
        missing = sorted(set(self.sources) - set(names) - {self.name})
        if missing:
            logger.info("Ranker skips unregistered sources: %s", ", ".join(missing))
        if not names:
            raise ValueError(
                f"None of the ranker sources {self.sources} is registered: "
                f"choose from {sorted(REGISTRY)}."
            )
        return names

    def fit_sources(self, data: InteractionData) -> dict[str, Recommender]:
        """Fit every source; drop one whose size guard rejects the data."""
        models = {}
        for name in self.source_names_:
            params = self.source_params.get(name, {})
            try:
                models[name] = get_algorithm(name)(**params).fit(data)
            except CatalogueTooLargeError as error:
                logger.warning("Ranker drops source %s: %s", name, error)
        if not models:
            raise ValueError(
                f"Every ranker source ({', '.join(self.source_names_)}) rejected "
                "the data: add a source without a size limit, such as als."
            )
        self.source_names_ = list(models)
        return models

    def fit(self, data: InteractionData) -> Self:
        from recommendations.evaluation.splits import split_data

        self.source_names_ = self.available_sources()
        self.n_items_ = data.n_items
        inner = split_data(data, "stratified", 1 - self.holdout, self.random_state)
        models = self.fit_sources(inner.train)
        stats = ItemStatistics.from_data(inner.train)
        users = self.training_users(inner.test)
        features, labels = self.training_rows(models, stats, inner, users)

        self.fit_regression(features, labels)

        self.models_ = self.fit_sources(data)
        self.stats_ = ItemStatistics.from_data(data)
        return self

    def fit_regression(self, features: np.ndarray, labels: np.ndarray) -> None:
        """Learn standardized logistic-regression weights over the features."""
        width = len(feature_names(self.source_names_))
        self.mean_ = np.zeros(width)
        self.scale_ = np.ones(width)
        if len(np.unique(labels)) < 2:
            # Nothing to learn from: rank by the first source's score alone.
            self.coef_ = np.zeros(width)
            self.coef_[0] = 1.0
            self.intercept_ = np.zeros(1)
            return

        self.mean_ = features.mean(axis=0)
        self.scale_ = np.maximum(features.std(axis=0), 1e-9)
        regression = LogisticRegression(C=self.regularization, max_iter=2000)
        regression.fit((features - self.mean_) / self.scale_, labels)
        self.coef_ = regression.coef_.ravel()
        self.intercept_ = regression.intercept_

    def training_users(self, held_out: dict) -> np.ndarray:
        """Return the users whose candidates train the regression, sampled.

        A sample bounds the training rows, at most sources x candidates per
        user: 5,000 users with two sources of 30 give at most 300,000 rows.
        """
        users = np.array(sorted(held_out), dtype=np.int64)
        if len(users) <= self.max_training_users:
            return users
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(users, self.max_training_users, replace=False))

    def training_rows(
        self, models, stats, inner, users
    ) -> tuple[np.ndarray, np.ndarray]:
        blocks, labels = [], []
        for start in range(0, len(users), SCORING_BATCH):
            batch = users[start : start + SCORING_BATCH]
            history = inner.train.matrix[batch]
            rows, items, features = candidate_features(
                models, self.source_names_, stats, batch, history, self.candidates
            )
            blocks.append(features)
            labels.append(
                np.array(
                    [
                        item in inner.test[int(batch[row])]
                        for row, item in zip(rows, items, strict=True)
                    ],
                    dtype=np.int8,
                )
            )
        if not blocks:
            width = len(feature_names(self.source_names_))
            return np.zeros((0, width)), np.zeros(0, np.int8)
        return np.vstack(blocks), np.concatenate(labels)

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        """Return ranker probabilities for candidates and lower scores elsewhere.

        Items outside every source's candidates keep the first source's order
        below all candidates, so a request for many items still gets them.
        """
        history = sparse.csr_matrix(history)
        scores = np.empty((history.shape[0], self.n_items_), dtype=np.float64)
        for start in range(0, history.shape[0], SCORING_BATCH):
            stop = min(start + SCORING_BATCH, history.shape[0])
            scores[start:stop] = self.score_batch(
                np.asarray(user_indices[start:stop]), history[start:stop]
            )
        return scores

    def score_batch(self, users: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        rows, items, features, fallback = candidate_features(
            self.models_, self.source_names_, self.stats_, users, history,
            self.candidates, with_fallback=True,
        )  # fmt: skip
        logits = ((features - self.mean_) / self.scale_) @ self.coef_ + self.intercept_[
            0
        ]
        scores = fallback - 2.0
        scores[rows, items] = 1.0 / (1.0 + np.exp(-logits))
        return scores

    def explain(
        self, history_row: sparse.csr_matrix, item_indices: np.ndarray
    ) -> list[int | None]:
        """Name, per item, the seen item behind it from the first source that can."""
        causes: list[int | None] = [None] * len(item_indices)
        for name in self.source_names_:
            found = self.models_[name].explain(history_row, item_indices)
            causes = [
                old if old is not None else new
                for old, new in zip(causes, found, strict=True)
            ]
            if all(cause is not None for cause in causes):
                break
        return causes

    def explain_rows(
        self, history: sparse.csr_matrix, item_rows: list[np.ndarray]
    ) -> list[list[int | None]]:
        """Return explain() for many rows, asking each source for all rows at once."""
        causes: list[list[int | None]] = [[None] * len(items) for items in item_rows]
        for name in self.source_names_:
            found = self.models_[name].explain_rows(history, item_rows)
            causes = [
                [old if old is not None else new for old, new in zip(a, b, strict=True)]
                for a, b in zip(causes, found, strict=True)
            ]
            if all(cause is not None for row in causes for cause in row):
                break
        return causes

    def get_state(self) -> dict[str, Any]:
        state = {
            "coef_": self.coef_,
            "intercept_": np.asarray(self.intercept_),
            "mean_": self.mean_,
            "scale_": self.scale_,
            "source_names_": np.asarray(self.source_names_, dtype=str),
        }
        state.update(self.stats_.to_state())
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.coef_ = state["coef_"]
        self.intercept_ = state["intercept_"]
        self.mean_ = state["mean_"]
        self.scale_ = state["scale_"]
        self.source_names_ = [str(name) for name in state["source_names_"]]
        self.stats_ = ItemStatistics.from_state(state)
        self.n_items_ = len(self.stats_.popularity)

    def save(self, directory: Path) -> None:
        super().save(directory)
        for name, model in self.models_.items():
            model.save(directory / SOURCES_DIR / name)

    @classmethod
    def load(cls, directory: Path) -> Self:
        model = super().load(directory)
        model.models_ = {
            name: get_algorithm(name).load(directory / SOURCES_DIR / name)
            for name in model.source_names_
        }
        return model
