"""Train and test splits of an InteractionData, per user.

stratified: each user's (user, item) pairs are shuffled with a fixed seed
and the first 75 % (rounded, at least one) train, the rest test, as in the
Microsoft Recommenders MovieLens benchmark. temporal: each user's oldest
75 % train and the newest 25 % test. Users with a single pair keep it in
training. The test part is a mapping of user index to the set of held-out
item indices; every held-out pair counts as relevant.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommendations.dataset import InteractionData

SPLITS = ("stratified", "temporal")
DEFAULT_SEED = 42
DEFAULT_RATIO = 0.75


@dataclass
class Split:
    train: InteractionData
    test: dict[int, set[int]]
    name: str

    @property
    def n_test_pairs(self) -> int:
        return sum(len(items) for items in self.test.values())


def split_data(
    data: InteractionData,
    method: str = "stratified",
    ratio: float = DEFAULT_RATIO,
    seed: int = DEFAULT_SEED,
) -> Split:
    """Split every user's pairs into a training part and a held-out part."""
    if method not in SPLITS:
        raise ValueError(f"Unknown split {method!r}: use one of {SPLITS}.")
    if not 0 < ratio < 1:
        raise ValueError(f"ratio={ratio} must be between 0 and 1 (exclusive).")

    events = data.events
    if method == "stratified":
        order = np.random.default_rng(seed).permutation(len(events))
        events = events.iloc[order]
    else:
        events = events.sort_values(["timestamp"], kind="stable")

    position = events.groupby("user").cumcount().to_numpy()
    sizes = events.groupby("user")["item"].transform("size").to_numpy()
    train_sizes = np.maximum(np.round(sizes * ratio), 1)
    in_train = position < train_sizes

    train_events = events[in_train].sort_values(["user", "item"])
    test_events = events[~in_train]
    return Split(
        train=data.subset(train_events),
        test=held_out_sets(test_events),
        name=method,
    )


def held_out_sets(events: pd.DataFrame) -> dict[int, set[int]]:
    test: dict[int, set[int]] = {}
    for user, item in zip(events["user"], events["item"], strict=True):
        test.setdefault(int(user), set()).add(int(item))
    return test
