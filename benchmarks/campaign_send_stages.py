"""Split one sending process's CPU time per e-mail into the stages of a batch.

Seeds the same data as campaign_send.py on a fresh test database
(<name>_campaign_stages, dropped afterwards), then sends the whole campaign
from this one process with each stage wrapped in a timer. Stages nest:
"fill slots" contains "serving state", and "send" contains "consent check".

    DATABASE_URL=mysql://root@127.0.0.1:3306/attune \\
        .venv/bin/python benchmarks/campaign_send_stages.py --size 3000
"""

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import campaign_send  # noqa: E402  the benchmarks folder is not a package


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3_000, help="recipients")
    parser.add_argument(
        "--personal-share",
        type=float,
        default=1.0,
        help="share of recipients who allow personalization (0 to 1)",
    )
    return parser.parse_args()


class StageTimer:
    """CPU and wall seconds per stage, added up over every call."""

    def __init__(self):
        self.cpu = Counter()
        self.wall = Counter()

    def wrap(self, owner, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[stage] += time.process_time() - cpu
                self.wall[stage] += time.perf_counter() - wall

        setattr(owner, attribute, timed)


def instrument(timer: StageTimer) -> None:
    from campaigns import content, rendering, sending
    from recommendations import services

    timer.wrap(sending, "claim_batch", "claim")
    timer.wrap(content.SlotFiller, "fill", "fill slots")
    timer.wrap(services.ServingBatch, "__init__", "  serving state")
    timer.wrap(sending, "render_delivery", "render")
    timer.wrap(rendering, "message_context", "  context and signed links")
    timer.wrap(rendering, "render_message", "  templates and CSS")
    timer.wrap(sending, "send_prepared", "send")
    timer.wrap(sending.ConsentCheck, "allows", "  consent check")
    timer.wrap(sending, "save_outcomes", "save outcomes")


def main() -> None:
    args = parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("mysql", "mariadb")):
        raise SystemExit("Set DATABASE_URL to a MariaDB or MySQL server.")

    port = campaign_send.free_port()
    sink = campaign_send.start_sink(port)
    try:
        campaign_send.setup_django(port)
        from django.db import connection
        from django.test.utils import setup_databases, teardown_databases

        from campaigns import sending

        settings_dict = connection.settings_dict
        settings_dict["TEST"]["NAME"] = f"{settings_dict['NAME']}_campaign_stages"
        names = setup_databases(verbosity=0, interactive=False)
        try:
            campaign_id, _ = campaign_send.prepare(args.size, args.personal_share)
            timer = StageTimer()
            instrument(timer)
            cpu_started = time.process_time()
            sent = 0
            while (result := sending.send_next_batch(campaign_id)).more:
                sent += result.sent
            total = time.process_time() - cpu_started
        finally:
            teardown_databases(names, verbosity=0)
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    print(f"{sent} e-mails, {1000 * total / sent:.2f} ms of CPU per e-mail in all")
    print(f"{'stage':30} {'CPU ms/e-mail':>14} {'wall ms/e-mail':>15}")
    for stage in timer.cpu:
        cpu = 1000 * timer.cpu[stage] / sent
        wall = 1000 * timer.wall[stage] / sent
        print(f"{stage:30} {cpu:14.3f} {wall:15.3f}")


if __name__ == "__main__":
    main()
