"""Time retraining every algorithm on MovieLens 100K and serving one top 10.

Part 1 fits each registered algorithm on all of MovieLens 100K with its
default (validation-tuned) parameters, then runs the full training path
(evaluation fit, promotion check, final fit, artifact) for each, recorded
in a throwaway SQLite database. Part 2 loads each active version through
the registry and times the top 10 for one user at a time, in process.

    .venv/bin/python benchmarks/retrain_and_serve.py [--repeats 1000]
"""

import argparse
import time

import numpy as np
from common import machine, markdown_table, setup_django

LATENCY_USERS_SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1000)
    args = parser.parse_args()
    setup_django(own_database=True)

    from recommendations import registry, training
    from recommendations.algorithms import REGISTRY, get_algorithm
    from recommendations.dataset import load_movielens_data

    data = load_movielens_data()
    names = sorted(REGISTRY)
    fit_seconds, train_seconds = {}, {}
    for name in names:
        started = time.perf_counter()
        get_algorithm(name)().fit(data)
        fit_seconds[name] = time.perf_counter() - started
        started = time.perf_counter()
        training.train(name, data=data)
        train_seconds[name] = time.perf_counter() - started

    rng = np.random.default_rng(LATENCY_USERS_SEED)
    latency = {}
    for name in names:
        loaded = registry.load_active(name)
        users = rng.integers(0, data.n_users, args.repeats)
        timings = []
        for user in users:
            history = data.matrix[[user]]
            started = time.perf_counter()
            loaded.model.recommend(np.array([user]), history, 10)
            timings.append(time.perf_counter() - started)
        latency[name] = np.array(timings) * 1000

    print(f"MovieLens 100K ({data.n_interactions} interactions), {machine()}")
    rows = [
        [name, fit_seconds[name], train_seconds[name],
         float(np.median(latency[name])), float(np.percentile(latency[name], 95))]
        for name in names
    ]  # fmt: skip
    rows.append(
        ["total", sum(fit_seconds.values()), sum(train_seconds.values()), "", ""]
    )
    header = ["algorithm", "fit seconds", "train + promote seconds"]
    header += ["top-10 median ms", "top-10 p95 ms"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
