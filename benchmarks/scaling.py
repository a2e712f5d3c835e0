"""Training time and peak memory per algorithm on synthetic power-law data.

Interactions are drawn with Zipf-like item popularity (exponent 1.0) and
log-normal user activity, at 100K, 1M and 5M interactions (50 per user on
average; 2,000, 10,000 and 20,000 items). Each (algorithm, size) fit runs
in its own process. Once the data is built, the kernel's peak-RSS mark is
reset, so "peak RSS" is the largest resident size during the fit; the
table also gives the resident size just before the fit.
An algorithm whose size guard rejects the data is reported as skipped.

    .venv/bin/python benchmarks/scaling.py [--sizes 100000 1000000 5000000]
"""

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import machine, markdown_table, setup_django

ITEMS_FOR_SIZE = {100_000: 2_000, 1_000_000: 10_000, 5_000_000: 20_000}
PER_USER = 50
TIMEOUT_SECONDS = 1_800


def synthetic_events(n_interactions: int, n_items: int, seed: int = 0):
    """Return unique (user, item) events with power-law item popularity."""
    rng = np.random.default_rng(seed)
    n_users = max(n_interactions // PER_USER, 1)
    item_weights = 1.0 / np.arange(1, n_items + 1)
    item_weights /= item_weights.sum()
    user_weights = rng.lognormal(0.0, 1.0, n_users)
    user_weights /= user_weights.sum()
    events = pd.DataFrame({"user_id": [], "item_id": []}, dtype=np.int64)
    while len(events) < n_interactions:  # repeated pairs are dropped, so redraw
        draws = (n_interactions - len(events)) * 2
        more = pd.DataFrame(
            {
                "user_id": rng.choice(n_users, draws, p=user_weights) + 1,
                "item_id": rng.choice(n_items, draws, p=item_weights) + 1,
            }
        )
        events = pd.concat([events, more]).drop_duplicates()
    events = events.head(n_interactions).reset_index(drop=True)
    events["value"] = 1.0
    events["timestamp"] = rng.integers(1_600_000_000, 1_700_000_000, len(events))
    return events


def status_mb(field: str) -> float:
    """Return a memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM), Linux 4.0 and later."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def run_worker(name: str, size: int) -> None:
    setup_django()
    from recommendations.algorithms import get_algorithm
    from recommendations.algorithms.ease import CatalogueTooLargeError
    from recommendations.dataset import build_from_frames

    n_items = ITEMS_FOR_SIZE[size]
    data = build_from_frames(synthetic_events(size, n_items), np.arange(1, n_items + 1))
    reset_peak_rss()
    before = status_mb("VmRSS")
    result = {"interactions": data.n_interactions, "users": data.n_users,
              "items": data.n_items, "data_rss_mb": before}  # fmt: skip
    started = time.perf_counter()
    try:
        get_algorithm(name)().fit(data)
    except CatalogueTooLargeError as error:
        result["skipped"] = str(error)
    result["fit_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = status_mb("VmHWM")
    print(json.dumps(result))


def run_all(sizes: list[int], names: list[str]) -> dict:
    results: dict = {}
    for size in sizes:
        for name in names:
            command = [sys.executable, __file__, "--worker", name, str(size)]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
                )
                lines = done.stdout.strip().splitlines()
                outcome = (
                    json.loads(lines[-1])
                    if done.returncode == 0
                    else {"skipped": f"failed: {done.stderr.strip().splitlines()[-1]}"}
                )
            except subprocess.TimeoutExpired:
                outcome = {"skipped": f"timed out after {TIMEOUT_SECONDS} s"}
            results[f"{name}@{size}"] = outcome
            print(name, size, outcome, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(ITEMS_FOR_SIZE))
    parser.add_argument("--algorithm", action="append")
    parser.add_argument("--worker", nargs=2, metavar=("NAME", "SIZE"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker[0], int(args.worker[1]))
        return

    setup_django()
    from recommendations.algorithms import REGISTRY

    names = args.algorithm or sorted(REGISTRY)
    results = run_all(args.sizes, names)
    rows = []
    for key, outcome in results.items():
        name, size = key.split("@")
        if "fit_seconds" in outcome and "skipped" not in outcome:
            rows.append([name, int(size), outcome["fit_seconds"],
                         outcome["peak_rss_mb"], outcome["data_rss_mb"]])  # fmt: skip
        else:
            rows.append([name, int(size), "skipped", outcome["skipped"][:90], ""])
    print(machine())
    header = ["algorithm", "interactions", "fit seconds", "peak RSS MB"]
    print(markdown_table([*header, "RSS before fit MB"], rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
