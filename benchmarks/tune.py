"""Choose hyperparameters on a validation split carved from the training part.

The stratified split of MovieLens 100K (seed 42) gives a training part and a
test part. This script never reads the test part: it splits the training
part again (75/25 per user, seed 7) and evaluates a small grid of each
algorithm's parameters on that validation split.

    .venv/bin/python benchmarks/tune.py [--algorithm NAME ...] [--json FILE]
"""

import argparse
import itertools
import json
from pathlib import Path

from common import setup_django  # noqa: E402

GRIDS: dict[str, dict[str, list]] = {
    "ease": {"l2": [100.0, 200.0, 350.0, 500.0, 800.0, 1200.0, 2000.0]},
    "item_knn": {
        "neighbours": [50, 100, 200],
        "shrinkage": [0.0, 10.0, 50.0],
        "similarity": ["cosine", "jaccard"],
    },
    "user_knn": {
        "neighbours": [25, 50, 100],
        "shrinkage": [0.0, 10.0],
        "similarity": ["cosine", "jaccard"],
    },
    "als": {
        "factors": [32, 64, 128],
        "regularization": [1.0, 10.0, 30.0, 100.0],
        "alpha": [0.5, 1.0, 5.0],
    },
    "bpr": {
        "factors": [32, 64],
        "learning_rate": [0.005, 0.01],
        "regularization": [0.01, 0.05],
        "iterations": [20, 50, 100],
    },
    "content": {"neighbours": [20, 50, 200]},
    "ranker": {
        "sources": [
            ["ease", "als"],
            ["ease", "als", "item_knn", "user_knn"],
            ["ease", "als", "item_knn", "user_knn", "bpr", "content"],
        ],
        "candidates": [30, 50],
        "regularization": [0.1, 1.0],
    },
}
VALIDATION_SEED = 7


def grid_points(grid: dict[str, list]) -> list[dict]:
    keys = list(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[key] for key in keys))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", action="append", choices=sorted(GRIDS))
    parser.add_argument("--json", type=Path, help="write every grid point here")
    args = parser.parse_args()
    setup_django()

    from recommendations.dataset import load_movielens_data
    from recommendations.evaluation import evaluate_algorithm, split_data

    data = load_movielens_data()
    train = split_data(data, "stratified").train
    validation = split_data(train, "stratified", seed=VALIDATION_SEED)

    results: dict[str, list] = {}
    for name in args.algorithm or list(GRIDS):
        rows = []
        for params in grid_points(GRIDS[name]):
            metrics = evaluate_algorithm(name, validation, 10, params)
            rows.append({"params": params, "ndcg@10": metrics["ndcg@10"]})
            print(name, params, f"ndcg@10={metrics['ndcg@10']:.4f}", flush=True)
        best = max(rows, key=lambda row: row["ndcg@10"])
        print(f"best {name}: {best['params']} ndcg@10={best['ndcg@10']:.4f}")
        results[name] = rows

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
