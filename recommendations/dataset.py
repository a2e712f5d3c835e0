"""Load the interaction log into the sparse matrices every algorithm trains on."""

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from accounts.consent import users_with_consent
from accounts.models import Profile, Purpose, age_band
from catalog.models import Item
from recommendations.models import Interaction, InteractionKind

logger = logging.getLogger(__name__)


@dataclass
class InteractionData:
    """Users by items, with the id maps and side features of both.

    matrix is a CSR matrix of shape (n_users, n_items) whose entries are 1.0
    for every (user, item) pair with at least one interaction: the implicit
    feedback view used by the Microsoft Recommenders MovieLens benchmark.
    events has one row per pair with the user and item indices, the last
    rating value and the latest timestamp in Unix seconds.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sparse.csr_matrix
    events: pd.DataFrame
    user_features: pd.DataFrame = field(default_factory=pd.DataFrame)
    item_features: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return int(self.matrix.nnz)

    def user_index(self) -> dict[int, int]:
        return {int(user_id): index for index, user_id in enumerate(self.user_ids)}

    def item_index(self) -> dict[int, int]:
        return {int(item_id): index for index, item_id in enumerate(self.item_ids)}

    def subset(self, events: pd.DataFrame) -> "InteractionData":
        """Return the same users and items with only the given event rows."""
        return InteractionData(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            matrix=pairs_to_matrix(events, self.n_users, self.n_items),
            events=events.reset_index(drop=True),
            user_features=self.user_features,
            item_features=self.item_features,
        )


def pairs_to_matrix(events: pd.DataFrame, n_users: int, n_items: int):
    values = np.ones(len(events), dtype=np.float32)
    matrix = sparse.csr_matrix(
        (values, (events["user"].to_numpy(), events["item"].to_numpy())),
        shape=(n_users, n_items),
        dtype=np.float32,
    )
    # Duplicate pairs add up in the constructor; the implicit view is binary.
    matrix.data[:] = 1.0
    return matrix


def build_from_frames(
    events: pd.DataFrame,
    item_ids: np.ndarray,
    user_features: pd.DataFrame | None = None,
    item_features: pd.DataFrame | None = None,
) -> InteractionData:
    """Build the dataset from raw rows of user_id, item_id, value, timestamp.

    Items in item_ids without events keep a column, so that content-based and
    cold-start paths can still recommend them. Users without events are left
    out: they have nothing to learn from.
    """
    item_ids = np.unique(np.asarray(item_ids, dtype=np.int64))
    if events.empty:
        user_ids = np.zeros(0, dtype=np.int64)
        pairs = pd.DataFrame(
            {
                "user": pd.Series(dtype=np.int32),
                "item": pd.Series(dtype=np.int32),
                "value": pd.Series(dtype=np.float32),
                "timestamp": pd.Series(dtype=np.int64),
            }
        )
    else:
        events = events[events["item_id"].isin(item_ids)]
        user_ids = np.sort(events["user_id"].unique()).astype(np.int64)
        pairs = (
            events.sort_values("timestamp")
            .groupby(["user_id", "item_id"], as_index=False)
            .agg(value=("value", "last"), timestamp=("timestamp", "max"))
        )
        pairs["user"] = np.searchsorted(user_ids, pairs["user_id"]).astype(np.int32)
        pairs["item"] = np.searchsorted(item_ids, pairs["item_id"]).astype(np.int32)
        pairs = pairs[["user", "item", "value", "timestamp"]]

    user_frame = _align(user_features, user_ids)
    item_frame = _align(item_features, item_ids)
    return InteractionData(
        user_ids=user_ids,
        item_ids=item_ids,
        matrix=pairs_to_matrix(pairs, len(user_ids), len(item_ids)),
        events=pairs.reset_index(drop=True),
        user_features=user_frame,
        item_features=item_frame,
    )


def _align(features: pd.DataFrame | None, ids: np.ndarray) -> pd.DataFrame:
    if features is None or features.empty:
        return pd.DataFrame(index=pd.Index(ids, name="id"))
    return features.reindex(ids)


def load_interaction_data(user_ids: set[int] | None = None) -> InteractionData:
    """Read the interaction log of users who consented to personalization.

    The rows are read in bulk with values_list, not as model instances: 100,000
    interactions take about a second and 30 MB this way.
    """
    consenting = users_with_consent(Purpose.PERSONALIZATION)
    if user_ids is not None:
        consenting &= set(user_ids)

    rows = (
        Interaction.objects.filter(user_id__in=consenting, item__is_active=True)
        .exclude(kind=InteractionKind.IMPRESSION)
        .values_list("user_id", "item_id", "value", "occurred_at")
    )
    events = pd.DataFrame.from_records(
        list(rows.iterator(chunk_size=20_000)),
        columns=["user_id", "item_id", "value", "occurred_at"],
    )
    if events.empty:
        events["timestamp"] = pd.Series(dtype=np.int64)
    else:
        events["timestamp"] = (
            pd.to_datetime(events["occurred_at"], utc=True).astype("int64") // 10**9
        )
        events["value"] = events["value"].astype(float)

    item_ids = np.fromiter(
        Item.objects.filter(is_active=True).values_list("id", flat=True), np.int64
    )
    data = build_from_frames(
        events, item_ids, load_user_features(consenting), load_item_features()
    )
    logger.info(
        "Loaded %s interactions of %s users on %s items",
        data.n_interactions,
        data.n_users,
        data.n_items,
    )
    return data


def load_user_features(user_ids: set[int]) -> pd.DataFrame:
    rows = Profile.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "age", "gender", "occupation"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["id", "age", "gender", "occupation"]
    ).set_index("id")
    frame["age_band"] = [age_band(age) for age in frame["age"]]
    return frame


def load_item_features() -> pd.DataFrame:
    items = Item.objects.filter(is_active=True).values_list(
        "id", "kind", "title", "description"
    )
    frame = pd.DataFrame.from_records(
        list(items), columns=["id", "kind", "title", "description"]
    ).set_index("id")
    categories: dict[int, list[str]] = {}
    links = Item.categories.through.objects.filter(item__is_active=True)
    for item_id, slug in links.values_list("item_id", "category__slug"):
        categories.setdefault(item_id, []).append(slug)
    frame["categories"] = [categories.get(item_id, []) for item_id in frame.index]
    return frame


def load_movielens_data(path=None) -> InteractionData:
    """Build the dataset straight from MovieLens files, without the database.

    path is what import_movielens accepts: None for the bundled MovieLens
    100K parquet files, or an ml-100k or CSV folder. Evaluation and the
    benchmarks use this so that they do not depend on an import.
    """
    from recommendations.movielens import read_source

    frames = read_source(path)
    ratings = frames.ratings
    events = pd.DataFrame(
        {
            "user_id": ratings["user_id"].astype(np.int64),
            "item_id": ratings["item_id"].astype(np.int64),
            "value": pd.to_numeric(ratings["rating"]).astype(float),
            "timestamp": pd.to_numeric(ratings["timestamp"]).astype(np.int64),
        }
    )
    items = frames.items
    item_features = pd.DataFrame(
        {
            "kind": "product",
            "title": items["title"].to_numpy(),
            "categories": [list(genres) for genres in items["genres"]],
        },
        index=pd.Index(items["item_id"].astype(np.int64).to_numpy(), name="id"),
    )
    user_features = None
    if frames.users is not None:
        users = frames.users
        ages = pd.to_numeric(users["age"], errors="coerce")
        user_features = pd.DataFrame(
            {
                "age": ages.to_numpy(),
                "gender": users["gender"].to_numpy(),
                "occupation": users["occupation"].to_numpy(),
                "age_band": [
                    age_band(None if pd.isna(age) else int(age)) for age in ages
                ],
            },
            index=pd.Index(users["user_id"].astype(np.int64).to_numpy(), name="id"),
        )
    return build_from_frames(
        events, item_features.index.to_numpy(), user_features, item_features
    )
