"""Celery tasks for profiles, training and precomputed top lists.

Each task takes ids or names, runs on the queue that CELERY_TASK_ROUTES
assigns (training or serving), retries lost database and broker connections
with exponential backoff, and has a soft and a hard time limit. Each logs
its start, end, duration and data sizes. The work itself lives in
profiles.py and training.py.
"""

import logging
import time
import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, transaction

from recommendations import profiles, training
from recommendations.algorithms import REGISTRY
from recommendations.dataset import load_interaction_data
from recommendations.models import ModelVersion

logger = logging.getLogger(__name__)

# Lost connections to the database or the broker are retried. Any other error
# comes from a bug or bad data, so it fails the task at once.
RETRY_OPTIONS = {
    "autoretry_for": (ConnectionError, OperationalError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 3,
}
# Soft limits in seconds; the hard limit kills the worker process a minute
# later if the task ignores SoftTimeLimitExceeded.
PROFILES_TIME_LIMIT = 15 * 60
TRAINING_TIME_LIMIT = 60 * 60  # each algorithm trains twice: on a split, then all
PRECOMPUTE_TIME_LIMIT = 20 * 60
HARD_LIMIT_GRACE = 60
# Held in the cache while a training run is going on, so that a second run
# (a click on "retrain now" during the nightly run) is skipped. With the
# default in-process cache the lock covers one worker process only; set
# REDIS_CACHE_URL to share it between workers.
TRAINING_LOCK_KEY = "recommendations:train_models_task"


class TrainingFailedError(RuntimeError):
    """One or more algorithms failed to train; their versions record the error."""


@shared_task(
    name="recommendations.tasks.build_profiles_task",
    soft_time_limit=PROFILES_TIME_LIMIT,
    time_limit=PROFILES_TIME_LIMIT + HARD_LIMIT_GRACE,
    **RETRY_OPTIONS,
)
def build_profiles_task(user_ids: list[int] | None = None) -> int:
    """Rebuild profile features; safe to repeat, since it recomputes from the log."""
    started = time.perf_counter()
    scope = "all users" if user_ids is None else f"{len(user_ids)} users"
    logger.info("build_profiles_task started for %s", scope)
    count = profiles.build_profiles(user_ids)
    logger.info(
        "build_profiles_task finished: %s profiles in %.1f s",
        count,
        time.perf_counter() - started,
    )
    return count


@shared_task(
    bind=True,
    name="recommendations.tasks.train_models_task",
    soft_time_limit=TRAINING_TIME_LIMIT,
    time_limit=TRAINING_TIME_LIMIT + HARD_LIMIT_GRACE,
    **RETRY_OPTIONS,
)
def train_models_task(self, algorithms: list[str] | None = None) -> list[int]:
    """Train algorithms on one snapshot and queue precompute for promotions.

    Defaults to default_algorithms(). Returns the new version ids, or []
    when another run holds the training lock.
    Running it twice is harmless: each run records versions, and promotion
    keeps the active version unless the new one is no worse.
    """
    names = list(algorithms or default_algorithms())
    check_algorithms(names)
    token = str(uuid.uuid4())
    if not cache.add(TRAINING_LOCK_KEY, token, TRAINING_TIME_LIMIT):
        logger.warning(
            "train_models_task %s skipped: another training run is in progress "
            "(cache key %s is set)",
            self.request.id,
            TRAINING_LOCK_KEY,
        )
        return []

    try:
        versions, failed = train_on_snapshot(names)
    finally:
        if cache.get(TRAINING_LOCK_KEY) == token:
            cache.delete(TRAINING_LOCK_KEY)

    for version in versions:
        version.refresh_from_db(fields=["is_active", "status"])
        if version.is_active:
            queue_precompute(version, in_process=bool(self.request.is_eager))
    if failed:
        raise TrainingFailedError(
            f"Training failed for {', '.join(failed)}; the error is stored on "
            "their failed model versions, listed in the admin."
        )
    return [version.pk for version in versions]


@shared_task(
    name="recommendations.tasks.precompute_recommendations_task",
    soft_time_limit=PRECOMPUTE_TIME_LIMIT,
    time_limit=PRECOMPUTE_TIME_LIMIT + HARD_LIMIT_GRACE,
    **RETRY_OPTIONS,
)
def precompute_recommendations_task(version_id: int) -> int:
    """Rewrite users' top lists from a version while it is still active."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or not version.is_active:
        logger.info(
            "precompute_recommendations_task skipped: version %s is missing or "
            "no longer active",
            version_id,
        )
        return 0

    started = time.perf_counter()
    logger.info("precompute_recommendations_task started for %s", version.label)
    count = training.precompute(version)
    logger.info(
        "precompute_recommendations_task finished: %s top lists from %s in %.1f s",
        count,
        version.label,
        time.perf_counter() - started,
    )
    return count


def check_algorithms(names: list[str]) -> None:
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise ValueError(
            f"Unknown algorithms {', '.join(unknown)}; known: "
            f"{', '.join(sorted(REGISTRY))}."
        )


def train_on_snapshot(names: list[str]) -> tuple[list[ModelVersion], list[str]]:
    """Train each algorithm on one read of the log; return versions and failures.

    A failing algorithm does not stop the others. Lost connections are
    raised at once, for the task to retry the whole run.
    """
    started = time.perf_counter()
    logger.info("train_models_task started for %s", ", ".join(names))
    data = load_interaction_data()
    versions, failed = [], []
    for name in names:
        try:
            versions.append(training.train(name, data=data))
        except (ConnectionError, OperationalError):
            raise
        except Exception:
            # Any error of a fit: training.train stored it on a failed
            # version and logged it with its traceback.
            failed.append(name)

    logger.info(
        "train_models_task finished: %s on %s interactions, %s users, %s items "
        "in %.1f s",
        ", ".join(version.label for version in versions) or "no versions",
        data.n_interactions,
        data.n_users,
        data.n_items,
        time.perf_counter() - started,
    )
    return versions, failed


def default_algorithms() -> list[str]:
    """Return what a plain training run fits: fallbacks, then the serving model.

    Popularity serves anonymous and cold users, content similarity the items
    without interactions yet, and item kNN the similar-items endpoint.
    """
    names = ["popularity", "content", "item_knn", settings.ATTUNE_SERVING_ALGORITHM]
    return list(dict.fromkeys(names))


def queue_precompute(version: ModelVersion, in_process: bool = False) -> None:
    """Queue the precompute task for a promoted version of the serving algorithm.

    in_process runs it at once, for callers that themselves run in process
    (the train command without --queue). Otherwise it is sent to the broker
    after the current transaction commits.
    """
    if version.algorithm != settings.ATTUNE_SERVING_ALGORITHM:
        return
    if in_process:
        precompute_recommendations_task(version.pk)
        return
    transaction.on_commit(lambda: precompute_recommendations_task.delay(version.pk))
    logger.info("Queued precompute for %s", version.label)


def queue_training(algorithms: list[str] | None = None) -> None:
    """Send train_models_task to the broker once the current transaction commits."""
    if algorithms is not None:
        check_algorithms(algorithms)
    transaction.on_commit(lambda: train_models_task.delay(algorithms))
    logger.info("Queued training of %s", ", ".join(algorithms or ["the defaults"]))
