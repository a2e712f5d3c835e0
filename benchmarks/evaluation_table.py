"""Evaluate every registered algorithm on MovieLens 100K, side by side.

Protocol: each user's ratings split 75/25 at random (seed 42), every
held-out rating relevant, training items excluded, all items ranked.
Prints a markdown table and writes benchmarks/results/evaluation_<split>.json.

    .venv/bin/python benchmarks/evaluation_table.py [--split temporal]
"""

import argparse
import json

from common import machine, markdown_table, setup_django, write_result

COLUMNS = ["precision@10", "recall@10", "ndcg@10", "map", "coverage"]
COLUMNS += ["train_seconds", "recommend_seconds", "peak_memory_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", choices=["stratified", "temporal"], default="stratified"
    )
    args = parser.parse_args()
    setup_django()

    from recommendations.dataset import load_movielens_data
    from recommendations.evaluation import evaluate_all, split_data

    split = split_data(load_movielens_data(), args.split)
    results = evaluate_all(split, 10)
    baseline = results["popularity"]["ndcg@10"]
    rows = []
    for name, metrics in sorted(
        results.items(), key=lambda item: -item[1].get("ndcg@10", -1)
    ):
        if "error" in metrics:
            rows.append([name, metrics["error"]] + [""] * len(COLUMNS))
            continue
        beats = "yes" if metrics["ndcg@10"] > baseline else "no"
        rows.append([name] + [metrics[column] for column in COLUMNS] + [beats])

    print(f"MovieLens 100K, {args.split} split, {machine()}")
    print(markdown_table(["algorithm", *COLUMNS, "beats popularity"], rows))
    write_result(f"evaluation_{args.split}.json", json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
