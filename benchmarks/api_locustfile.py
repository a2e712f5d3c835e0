"""Locust user for the REST API load benchmark; benchmarks/api_load.py runs it.

Environment: ATTUNE_BENCH_SCENARIO (ping, recommendations or events),
ATTUNE_BENCH_TOKENS (a file with one DRF token per line, one per user),
ATTUNE_BENCH_ITEMS (a file with one item id per line), ATTUNE_BENCH_USER_RATE
(requests per second per simulated user; 0 sends as fast as possible) and
ATTUNE_BENCH_BATCH (events per request in the events scenario).
"""

import os
import random
import uuid
from pathlib import Path

from locust import FastHttpUser, constant, constant_throughput, task

SCENARIO = os.environ["ATTUNE_BENCH_SCENARIO"]
TOKENS = Path(os.environ["ATTUNE_BENCH_TOKENS"]).read_text().split()
ITEM_IDS = [
    int(line) for line in Path(os.environ["ATTUNE_BENCH_ITEMS"]).read_text().split()
]
USER_RATE = float(os.environ.get("ATTUNE_BENCH_USER_RATE", "0"))
BATCH = int(os.environ.get("ATTUNE_BENCH_BATCH", "500"))


def random_headers() -> dict:
    return {"Authorization": f"Token {random.choice(TOKENS)}"}


def event_batch() -> dict:
    return {
        "events": [
            {
                "event_id": uuid.uuid4().hex,
                "item": random.choice(ITEM_IDS),
                "kind": "view",
            }
            for _ in range(BATCH)
        ]
    }


class ApiUser(FastHttpUser):
    wait_time = constant_throughput(USER_RATE) if USER_RATE else constant(0)

    @task
    def request(self):
        if SCENARIO == "ping":
            self.client.get("/api/v1/ping/", headers=random_headers(), name="ping")
        elif SCENARIO == "recommendations":
            self.client.get(
                "/api/v1/me/recommendations/?n=10",
                headers=random_headers(),
                name="recommendations",
            )
        else:
            self.post_events()

    def post_events(self):
        with self.client.post(
            "/api/v1/events/",
            json=event_batch(),
            headers=random_headers(),
            name="events",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or response.json()["stored"] != BATCH:
                response.failure(f"not all stored: {response.text[:200]}")
