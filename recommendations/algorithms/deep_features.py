"""Inputs of the deep recommender: feature codes, category flags, negatives."""

import numpy as np
import pandas as pd
from scipy import sparse

from accounts.models import age_band

USER_FEATURES = ("age_band", "gender", "occupation")
UNKNOWN = 0  # feature code of a missing value or one unseen in training
# Categories beyond the most frequent ones are dropped: the item tower keeps
# an (n_items, n_categories) float32 table, so 100,000 items with 100
# categories cost 40 MB.
MAX_CATEGORIES = 100
NEGATIVE_REDRAWS = 10


def user_vocabulary(features: pd.DataFrame) -> dict[str, list[str]]:
    """Return the sorted known values of each user feature.

    Value i of a feature gets code i + 1, because code 0 is unknown.
    """
    columns = user_feature_columns(features)
    return {
        feature: sorted(value for value in column.unique() if value != "unknown")
        for feature, column in columns.items()
    }


def user_feature_columns(features: pd.DataFrame) -> dict[str, pd.Series]:
    """Return age band, gender and occupation as strings, "unknown" if missing.

    The age band comes from an age_band column, or else from an age column.
    """
    if "age_band" in features:
        bands = features["age_band"]
    elif "age" in features:
        ages = features["age"]
        bands = pd.Series(
            [age_band(None if pd.isna(age) else int(age)) for age in ages],
            index=features.index,
            dtype=object,
        )
    else:
        bands = pd.Series("unknown", index=features.index, dtype=object)

    columns = {"age_band": bands}
    for feature in ("gender", "occupation"):
        if feature in features:
            columns[feature] = features[feature]
        else:
            columns[feature] = pd.Series("unknown", index=features.index, dtype=object)
    return {
        feature: column.fillna("unknown").astype(str).replace("", "unknown")
        for feature, column in columns.items()
    }


def encode_users(features: pd.DataFrame, vocabulary: dict) -> np.ndarray:
    """Return an (n_users, 3) int32 array of feature codes, 0 for unknown."""
    columns = user_feature_columns(features)
    codes = np.zeros((len(features), len(USER_FEATURES)), dtype=np.int32)
    for column, feature in enumerate(USER_FEATURES):
        lookup = {value: code + 1 for code, value in enumerate(vocabulary[feature])}
        codes[:, column] = [lookup.get(value, UNKNOWN) for value in columns[feature]]
    return codes


def category_vocabulary(features: pd.DataFrame) -> list[str]:
    """Return the MAX_CATEGORIES most frequent categories, most frequent first."""
    if "categories" not in features:
        return []
    counts: dict[str, int] = {}
    for categories in features["categories"]:
        for category in item_categories(categories):
            counts[category] = counts.get(category, 0) + 1
    ranked = sorted(counts, key=lambda category: (-counts[category], category))
    return ranked[:MAX_CATEGORIES]


def encode_categories(features: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Return an (n_items, max(1, n_categories)) float32 multi-hot matrix."""
    multi_hot = np.zeros((len(features), max(len(names), 1)), dtype=np.float32)
    if not names:
        return multi_hot
    lookup = {name: column for column, name in enumerate(names)}
    for row, categories in enumerate(features["categories"]):
        for category in item_categories(categories):
            if category in lookup:
                multi_hot[row, lookup[category]] = 1.0
    return multi_hot


def item_categories(value) -> list[str]:
    """Return an item's categories; a missing value (NaN, None) has none."""
    if isinstance(value, list | tuple | np.ndarray):
        return [str(category) for category in value]
    return []


def sample_negatives(users, positive_keys, n_items: int, rng) -> np.ndarray:
    """Draw one random item per user, redrawing items the user interacted with.

    positive_keys contains user * n_items + item for every positive pair, sorted.
    Redrawing stops after NEGATIVE_REDRAWS rounds, so a user who interacted
    with nearly every item may keep a few positives among the negatives.
    """
    items = rng.integers(0, n_items, size=len(users), dtype=np.int32)
    for _ in range(NEGATIVE_REDRAWS):
        keys = users.astype(np.int64) * n_items + items
        clash = np.flatnonzero(is_member(keys, positive_keys))
        if not len(clash):
            break
        items[clash] = rng.integers(0, n_items, size=len(clash), dtype=np.int32)
    return items


def is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    positions = np.searchsorted(sorted_keys, keys)
    positions = np.minimum(positions, len(sorted_keys) - 1)
    return sorted_keys[positions] == keys


def row_normalize(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Return the binary matrix with each non-empty row summing to 1."""
    binary = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    counts = np.asarray(binary.sum(axis=1)).ravel()
    return (sparse.diags(1.0 / np.maximum(counts, 1)) @ binary).astype(np.float32)
