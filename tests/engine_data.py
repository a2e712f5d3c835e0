"""Small synthetic interaction data sets for the engine tests."""

import numpy as np
import pandas as pd

from recommendations.dataset import InteractionData, build_from_frames

GENRES = ["Action", "Comedy", "Drama", "Horror"]


def synthetic_data(
    n_users: int = 60, n_items: int = 40, per_user: int = 8, seed: int = 0
) -> InteractionData:
    """Users who each like one genre and rate mostly items of it.

    Item i has genre i % 4 and user u prefers genre u % 4, so collaborative
    models have a structure to find. Titles name the genre for TF-IDF.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        liked = [item for item in range(n_items) if item % 4 == user % 4]
        others = [item for item in range(n_items) if item % 4 != user % 4]
        picks = list(
            rng.choice(liked, size=min(per_user - 2, len(liked)), replace=False)
        )
        picks += list(rng.choice(others, size=2, replace=False))
        for position, item in enumerate(picks):
            rows.append((user + 1, item + 1, 4.0, 1_000_000 + 3600 * position))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"])
    return build_from_frames(
        events, np.arange(1, n_items + 1), None, item_frame(n_items)
    )


def item_frame(n_items: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "product",
            "title": [f"{GENRES[i % 4]} film {i}" for i in range(n_items)],
            "categories": [[GENRES[i % 4]] for i in range(n_items)],
        },
        index=pd.Index(np.arange(1, n_items + 1), name="id"),
    )


def frame_data(rows: list[tuple], n_items: int) -> InteractionData:
    """Build data from (user_id, item_id, value, timestamp) rows."""
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"])
    return build_from_frames(
        events, np.arange(1, n_items + 1), None, item_frame(n_items)
    )
