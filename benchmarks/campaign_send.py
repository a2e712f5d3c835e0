"""Benchmark campaign sending: throughput and peak memory per audience size.

Each size runs in its own process, on a fresh test database created from
DATABASE_URL (<name>_campaign_bench, dropped afterwards), against an aiosmtpd sink on
127.0.0.1 started by this script. The campaign has three slots (products,
courses and posts, three items each), so every e-mail requests nine items
from the serving function.

    DATABASE_URL=mysql://root@127.0.0.1:3306/attune \\
        .venv/bin/python benchmarks/campaign_send.py --sizes 10000 100000
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Users and rows written per statement while seeding.
SEED_CHUNK = 5_000
CATALOG_ITEMS_PER_KIND = 100
CROWD_SIZE = 200
CROWD_EVENTS = 40
# Items drawn for each recipient who allows personalization. Their top lists
# are precomputed from an item-kNN model trained on these interactions.
HISTORY_EVENTS = 20
# Items without interactions, so that personal lists also contain
# new items found by content similarity.
NEW_ITEMS_PER_KIND = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="audience sizes to measure, one process each",
    )
    parser.add_argument(
        "--personal-share",
        type=float,
        default=0.25,
        help="share of recipients who allow personalization (0 to 1); they "
        "cost one serving call per slot, the others share one list per batch",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="sending processes running at once, like Celery's -c (default 2)",
    )
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--send", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    """Start an aiosmtpd server that accepts and discards every message."""
    command = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    ]
    process = subprocess.Popen(command)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"The SMTP sink did not start on 127.0.0.1:{port}.")


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def high_water_rss_mib() -> float:
    """Return this process's peak resident size (VmHWM) since it started.

    ru_maxrss would not do: Linux carries the parent's peak over fork and
    exec into it, and the parent keeps the training data while seeding.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line.")


def setup_django(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    os.environ["EMAIL_HOST"] = "127.0.0.1"
    os.environ["EMAIL_PORT"] = str(port)
    os.environ["ATTUNE_SITE_URL"] = "https://attune.example"
    os.environ["ATTUNE_LOG_LEVEL"] = "WARNING"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    # Sending reads precomputed top lists, so the model that wrote them does
    # not change its cost. Item kNN is one of the quickest to train.
    os.environ["ATTUNE_SERVING_ALGORITHM"] = "item_knn"
    # Its throwaway database numbers model versions from 1, so a shared
    # artifact folder would overwrite version 1 of the real database.
    os.environ.setdefault(
        "ATTUNE_ARTIFACT_DIR", str(ROOT / "var" / "campaign-bench-artifacts")
    )
    import django

    django.setup()


def seed_catalog():
    """Create 300 items and a synthetic crowd that views the older ones.

    Returns the items that may have interactions; the last NEW_ITEMS_PER_KIND
    of each kind stay new.
    """
    from django.utils import timezone

    from accounts.consent import grant_imported_consents
    from accounts.models import Purpose, User
    from campaigns.testing import make_catalog
    from recommendations.models import Interaction

    items = make_catalog(items_per_kind=CATALOG_ITEMS_PER_KIND)
    known = [
        item
        for position, item in enumerate(items)
        if position % CATALOG_ITEMS_PER_KIND
        < CATALOG_ITEMS_PER_KIND - NEW_ITEMS_PER_KIND
    ]
    crowd = User.objects.bulk_create(
        User(username=f"crowd{n}", is_active=False) for n in range(CROWD_SIZE)
    )
    crowd_ids = [user.pk for user in crowd]
    grant_imported_consents(crowd_ids, Purpose.PERSONALIZATION, "Benchmark crowd.")
    generator = random.Random(7)
    now = timezone.now()
    events = [
        Interaction(
            user_id=user_id,
            item=item,
            kind="view",
            occurred_at=now,
            event_id=f"bench:{user_id}:{item.pk}",
        )
        for user_id in crowd_ids
        for item in generator.sample(known, CROWD_EVENTS)
    ]
    Interaction.objects.bulk_create(events, batch_size=SEED_CHUNK)
    return known


def seed_audience(size: int, personal_share: float, known: list) -> None:
    """Create size users with profiles and e-mail consent, in chunks.

    Recipients who allow personalization also get HISTORY_EVENTS draws of
    known items (one purchase, the rest views, repeats dropped). Item k of
    known is drawn with weight 1 / (1 + k % 100), so some items are much
    more popular than others.
    """
    from django.utils import timezone

    from accounts.consent import grant_imported_consents
    from accounts.models import Profile, Purpose, User
    from recommendations.models import Interaction

    generator = random.Random(11)
    now = timezone.now()
    weights = [
        1 / (1 + position % CATALOG_ITEMS_PER_KIND) for position in range(len(known))
    ]
    for start in range(0, size, SEED_CHUNK):
        numbers = range(start, min(start + SEED_CHUNK, size))
        users = User.objects.bulk_create(
            User(
                username=f"r{n}",
                first_name=f"Name{n}" if n % 10 else "",
                email=f"r{n}@example.com",
                password="!",
            )
            for n in numbers
        )
        ids = [user.pk for user in users]
        Profile.objects.bulk_create(
            Profile(
                user_id=user_id,
                age=generator.randint(18, 70),
                gender=generator.choice("FM"),
            )
            for user_id in ids
        )
        grant_imported_consents(ids, Purpose.EMAIL, "Benchmark audience.")
        personal = [i for i in ids if generator.random() < personal_share]
        grant_imported_consents(personal, Purpose.PERSONALIZATION, "Benchmark.")
        events = []
        for user_id in personal:
            chosen = {
                item.pk: item
                for item in generator.choices(known, weights, k=HISTORY_EVENTS)
            }
            for number, item in enumerate(chosen.values()):
                events.append(
                    Interaction(
                        user_id=user_id,
                        item=item,
                        kind="purchase" if number == 0 else "view",
                        occurred_at=now,
                        event_id=f"bench:{user_id}:{item.pk}",
                    )
                )
        Interaction.objects.bulk_create(events, batch_size=SEED_CHUNK)


def train_models() -> None:
    """Train popularity, content and item kNN, and precompute the top lists."""
    from recommendations import training
    from recommendations.dataset import load_interaction_data

    data = load_interaction_data()
    for algorithm in ("popularity", "content"):
        training.train(algorithm, data=data)
    version = training.train("item_knn", data=data)
    training.precompute(version, data)


def test_database_url(name: str) -> str:
    """Return DATABASE_URL with its database replaced by the test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare(size: int, personal_share: float) -> tuple[int, float]:
    """Seed the data and build the audience; return the campaign id and seconds."""
    from campaigns import services
    from campaigns.models import CampaignStatus
    from campaigns.testing import make_campaign

    known = seed_catalog()
    seed_audience(size, personal_share, known)
    train_models()
    campaign = make_campaign(
        slots=(
            ("products", 3, "product"),
            ("courses", 3, "course"),
            ("posts", 3, "post"),
        )
    )
    started = time.perf_counter()
    services.build_audience(campaign.pk)
    audience_seconds = time.perf_counter() - started
    campaign.status = CampaignStatus.SENDING
    campaign.save(update_fields=["status"])
    return campaign.pk, audience_seconds


def send_worker(campaign_id: int) -> None:
    """Send batches until none is left; print this process's figures as JSON."""
    from campaigns import sending

    peak_rss = current_rss_mib()
    cpu_started = time.process_time()
    sent = 0
    while (result := sending.send_next_batch(campaign_id)).more:
        sent += result.sent
        peak_rss = max(peak_rss, current_rss_mib())
    print(
        json.dumps(
            {
                "sent": sent,
                "cpu_seconds": time.process_time() - cpu_started,
                "peak_rss_mib": round(peak_rss, 1),
                "max_rss_mib": round(high_water_rss_mib(), 1),
            }
        )
    )


def run_workers(campaign_id: int, workers: int, database_url: str) -> list[dict]:
    """Run the sending workers at once, as a Celery worker with -c workers would."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, __file__, "--send", str(campaign_id)]
    processes = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    results = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(f"A sending worker failed with {process.returncode}.")
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results


def measure(size: int, personal_share: float, workers: int) -> dict:
    """Seed, build the audience, send everything and return the figures."""
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import setup_databases, teardown_databases

    from campaigns.models import Delivery

    # A name of its own, so a test run on the same server cannot drop it.
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = f"{settings_dict['NAME']}_campaign_bench"
    names = setup_databases(verbosity=0, interactive=False)
    try:
        campaign_id, audience_seconds = prepare(size, personal_share)
        database_url = test_database_url(connection.settings_dict["NAME"])
        connection.close()
        started = time.perf_counter()
        results = run_workers(campaign_id, workers, database_url)
        seconds = time.perf_counter() - started
        statuses = dict(
            Delivery.objects.filter(campaign_id=campaign_id)
            .values_list("status")
            .annotate(count=Count("id"))
        )
        sent = sum(result["sent"] for result in results)
        cpu = sum(result["cpu_seconds"] for result in results)
        return {
            "size": size,
            "workers": workers,
            "personal_share": personal_share,
            "statuses": statuses,
            "audience_seconds": round(audience_seconds, 1),
            "send_seconds": round(seconds, 1),
            "emails_per_second": round(sent / seconds, 1),
            # CPU of the sending processes alone; MariaDB and the SMTP sink
            # run in other processes on the same cores.
            "sender_cpu_ms_per_email": round(1000 * cpu / max(sent, 1), 2),
            "peak_rss_per_worker_mib": max(r["peak_rss_mib"] for r in results),
            "max_rss_per_worker_mib": max(r["max_rss_mib"] for r in results),
        }
    finally:
        teardown_databases(names, verbosity=0)


def main() -> None:
    args = parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("mysql", "mariadb")):
        raise SystemExit(
            "Set DATABASE_URL to a MariaDB or MySQL server, as in "
            "mysql://root@127.0.0.1:3306/attune: the sending workers share "
            "its test database."
        )
    if args.send:
        setup_django(int(os.environ["EMAIL_PORT"]))
        send_worker(args.send)
        return
    if args.run:
        port = free_port()
        sink = start_sink(port)
        try:
            setup_django(port)
            print(json.dumps(measure(args.run, args.personal_share, args.workers)))
        finally:
            sink.terminate()
            sink.wait(timeout=10)
        return
    for size in args.sizes:
        command = [
            sys.executable,
            __file__,
            "--run",
            str(size),
            "--personal-share",
            str(args.personal_share),
            "--workers",
            str(args.workers),
        ]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
