"""Measure the cold-start paths on MovieLens 100K with held-out users and items.

10 % of users and 10 % of items (seed 42) are removed from training
entirely. Cold users are ranked over the warm catalogue by demographic
group popularity (age band and gender), global popularity and random picks;
every warm item they rated is relevant. Cold items are ranked, for each
warm user who rated one, among all cold items by TF-IDF content similarity
to the user's training history, by popularity (zero for every cold item,
so catalogue order) and at random; the cold items the user rated are
relevant.

    .venv/bin/python benchmarks/cold_start.py
"""

import numpy as np
import pandas as pd
from common import machine, markdown_table, setup_django

SEED = 42
HELD_OUT_SHARE = 0.1
K = 10


def main() -> None:
    setup_django()
    from recommendations.algorithms import get_algorithm
    from recommendations.algorithms.popularity import group_keys
    from recommendations.dataset import load_movielens_data
    from recommendations.evaluation import ranking_metrics

    data = load_movielens_data()
    rng = np.random.default_rng(SEED)
    cold_users = rng.choice(data.n_users, int(data.n_users * HELD_OUT_SHARE), False)
    cold_items = rng.choice(data.n_items, int(data.n_items * HELD_OUT_SHARE), False)
    events = data.events
    is_cold_user = events["user"].isin(cold_users)
    is_cold_item = events["item"].isin(cold_items)
    train = data.subset(events[~is_cold_user & ~is_cold_item])

    popularity = get_algorithm("popularity")().fit(train)
    content = get_algorithm("content")().fit(train)
    keys = group_keys(data.user_features)

    user_rows = user_table(events[is_cold_user & ~is_cold_item], cold_items, keys,
                           popularity, rng, data.n_items, ranking_metrics)  # fmt: skip
    item_rows = item_table(events[~is_cold_user & is_cold_item], cold_items, train,
                           content, rng, ranking_metrics)  # fmt: skip
    print(f"MovieLens 100K, {len(cold_users)} cold users, {len(cold_items)} cold "
          f"items, seed {SEED}, {machine()}")  # fmt: skip
    header = ["path", f"precision@{K}", f"ndcg@{K}", f"recall@{K}", "users"]
    print("\nCold users (no interactions in training)\n")
    print(markdown_table(header, user_rows))
    print("\nCold items (no interactions in training), ranked among cold items\n")
    print(markdown_table(header, item_rows))


def relevant_sets(events: pd.DataFrame) -> dict[int, set[int]]:
    relevant: dict[int, set[int]] = {}
    for user, item in zip(events["user"], events["item"], strict=True):
        relevant.setdefault(int(user), set()).add(int(item))
    return relevant


def top_k(scores: np.ndarray, allowed: np.ndarray) -> list[int]:
    masked = np.where(allowed, scores, -np.inf)
    order = np.argsort(-masked, kind="stable")[:K]
    return [int(item) for item in order if np.isfinite(masked[item])]


def summarize(name: str, lists, relevant, n_items, ranking_metrics) -> list:
    metrics = ranking_metrics(lists, relevant, K, n_items)
    return [name, metrics[f"precision@{K}"], metrics[f"ndcg@{K}"],
            metrics[f"recall@{K}"], metrics["users"]]  # fmt: skip


def user_table(events, cold_items, keys, popularity, rng, n_items, metrics_fn):
    relevant = relevant_sets(events)
    warm = np.ones(n_items, dtype=bool)
    warm[cold_items] = False
    paths = {"demographic group popularity": {}, "global popularity": {}, "random": {}}
    for user in relevant:
        group_scores, _ = popularity.scores_for_group(keys[user])
        paths["demographic group popularity"][user] = top_k(group_scores, warm)
        paths["global popularity"][user] = top_k(popularity.scores_, warm)
        paths["random"][user] = top_k(rng.random(n_items), warm)
    return [summarize(name, lists, relevant, n_items, metrics_fn)
            for name, lists in paths.items()]  # fmt: skip


def item_table(events, cold_items, train, content, rng, metrics_fn):
    relevant = relevant_sets(events)
    allowed = np.zeros(train.n_items, dtype=bool)
    allowed[cold_items] = True
    popularity = np.asarray(train.matrix.sum(axis=0)).ravel().astype(float)
    # Every cold item has zero training popularity, so this path falls back to
    # catalogue order (oldest MovieLens ids first).
    paths = {"content similarity (TF-IDF)": {}, "global popularity": {}, "random": {}}
    for user in relevant:
        history = train.matrix[[user]]
        scores = content.score(np.array([user]), history)[0]
        paths["content similarity (TF-IDF)"][user] = top_k(scores, allowed)
        paths["global popularity"][user] = top_k(popularity, allowed)
        paths["random"][user] = top_k(rng.random(train.n_items), allowed)
    return [summarize(name, lists, relevant, train.n_items, metrics_fn)
            for name, lists in paths.items()]  # fmt: skip


if __name__ == "__main__":
    main()
