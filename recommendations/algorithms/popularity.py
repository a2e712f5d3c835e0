"""Popularity: the non-personal baseline and the cold-start fallback."""

from typing import Any, Self

import numpy as np

from recommendations.algorithms.base import Recommender, register
from recommendations.dataset import InteractionData


@register
class Popularity(Recommender):
    """Rank items by how many users interacted with them.

    group_scores_ contains the same counts within each demographic group (age
    band and gender), for users who consented to profiling but have no
    interactions yet.
    """

    name = "popularity"
    personal = False

    def __init__(self, min_group_size: int = 20) -> None:
        super().__init__(min_group_size=min_group_size)
        self.min_group_size = min_group_size

    def fit(self, data: InteractionData) -> Self:
        counts = np.asarray(data.matrix.sum(axis=0)).ravel().astype(np.float64)
        self.n_items_ = data.n_items
        self.scores_ = counts / max(data.n_users, 1)

        self.group_keys_ = np.zeros(0, dtype=str)
        self.group_scores_ = np.zeros((0, data.n_items))
        if "age_band" in data.user_features and data.n_users:
            keys = group_keys(data.user_features)
            groups, inverse = np.unique(keys, return_inverse=True)
            rows, scores = [], []
            for position, group in enumerate(groups):
                members = np.flatnonzero(inverse == position)
                if len(members) < self.min_group_size:
                    continue
                member_counts = np.asarray(data.matrix[members].sum(axis=0)).ravel()
                rows.append(group)
                scores.append(member_counts / len(members))
            if rows:
                self.group_keys_ = np.asarray(rows, dtype=str)
                self.group_scores_ = np.vstack(scores)
        return self

    def score(self, user_indices: np.ndarray, history) -> np.ndarray:
        return np.tile(self.scores_, (len(user_indices), 1))

    def scores_for_group(self, key: str | None) -> tuple[np.ndarray, bool]:
        """Return the group's scores, or global ones when the group is unknown."""
        self._check_fitted()
        if key is not None:
            match = np.flatnonzero(self.group_keys_ == key)
            if len(match):
                return self.group_scores_[match[0]], True
        return self.scores_, False

    def get_state(self) -> dict[str, Any]:
        return {
            "scores_": self.scores_,
            "group_keys_": self.group_keys_,
            "group_scores_": self.group_scores_,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.scores_ = state["scores_"]
        self.group_keys_ = state["group_keys_"].astype(str)
        self.group_scores_ = state["group_scores_"]
        self.n_items_ = len(self.scores_)


def group_key(age_band: str | None, gender: str | None) -> str:
    return f"{age_band or 'unknown'}|{gender or 'unknown'}"


def group_keys(user_features) -> np.ndarray:
    bands = user_features["age_band"].fillna("unknown")
    genders = user_features["gender"].fillna("").replace("", "unknown")
    return np.asarray([group_key(b, g) for b, g in zip(bands, genders, strict=True)])
