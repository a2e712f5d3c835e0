"""Celery tasks for sending; they take ids.

CELERY_TASK_ROUTES sends every task of this module to the "sending" queue.
"""

import logging
import smtplib
import time

from celery import shared_task

from campaigns import sending, services

logger = logging.getLogger(__name__)

# One task runs at most this many batches, then queues a follow-up, so that
# the time limit covers it and other campaigns get a turn on the queue.
BATCHES_PER_TASK = 20
SEND_TIME_LIMIT = 10 * 60  # seconds; 20 batches of 500 take about 35 s at 300/s
RETRYABLE = (smtplib.SMTPException, OSError, ConnectionError)


@shared_task(
    name="campaigns.tasks.run_campaign_task",
    autoretry_for=RETRYABLE,
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
    time_limit=SEND_TIME_LIMIT,
    soft_time_limit=SEND_TIME_LIMIT - 30,
)
def run_campaign_task(campaign_id: int) -> int:
    """Build the audience if needed, send batches, and queue the rest."""
    started = time.perf_counter()
    services.build_audience(campaign_id)
    sent = 0
    for _ in range(BATCHES_PER_TASK):
        result = sending.send_next_batch(campaign_id)
        sent += result.sent
        if not result.more:
            logger.info(
                "Campaign %s: task sent %s in %.1f s, nothing left to claim",
                campaign_id,
                sent,
                time.perf_counter() - started,
            )
            return sent
    run_campaign_task.apply_async((campaign_id,), queue="sending")
    return sent


@shared_task(
    name="campaigns.tasks.start_due_campaigns_task",
    time_limit=60,
    max_retries=0,
)
def start_due_campaigns_task() -> list[int]:
    return services.start_due_campaigns()
