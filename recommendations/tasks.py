"""Celery tasks for profiles and training; they take ids and names, not objects."""

import logging
import time

from celery import shared_task

from recommendations import profiles, training
from recommendations.dataset import load_interaction_data
from recommendations.models import ModelVersion

logger = logging.getLogger(__name__)
TRAINING_TIME_LIMIT = 30 * 60  # seconds; a nightly run on 1M events takes minutes


@shared_task(
    name="recommendations.tasks.build_profiles_task",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=TRAINING_TIME_LIMIT,
)
def build_profiles_task(user_ids: list[int] | None = None) -> int:
    started = time.perf_counter()
    logger.info("Building profiles for %s", user_ids or "all users")
    count = profiles.build_profiles(user_ids)
    logger.info("Built %s profiles in %.1f s", count, time.perf_counter() - started)
    return count


@shared_task(
    name="recommendations.tasks.train_models_task",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=TRAINING_TIME_LIMIT,
)
def train_models_task(algorithms: list[str] | None = None) -> list[int]:
    """Train the popularity baseline and the serving algorithm, then precompute.

    Both read one snapshot of the interaction log, so their versions describe
    the same data. Returns the new version ids.
    """
    from django.conf import settings

    names = algorithms or ["popularity", settings.ATTUNE_SERVING_ALGORITHM]
    started = time.perf_counter()
    data = load_interaction_data()
    versions = [training.train(name, data=data) for name in names]
    for version in versions:
        version.refresh_from_db()
        if version.algorithm == settings.ATTUNE_SERVING_ALGORITHM and version.is_active:
            training.precompute(version, data)
    logger.info(
        "Trained %s on %s interactions in %.1f s",
        ", ".join(v.label for v in versions),
        data.n_interactions,
        time.perf_counter() - started,
    )
    return [version.pk for version in versions]


@shared_task(
    name="recommendations.tasks.precompute_recommendations_task",
    time_limit=TRAINING_TIME_LIMIT,
)
def precompute_recommendations_task(version_id: int) -> int:
    version = ModelVersion.objects.get(pk=version_id)
    return training.precompute(version)
