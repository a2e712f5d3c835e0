"""Tasks through a real Celery worker and the Redis broker, not in process."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from django.conf import settings

from accounts.models import Profile
from config.celery import app as celery_app
from recommendations.models import Interaction, ModelVersion, UserRecommendations
from recommendations.tasks import build_profiles_task, train_models_task

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL,
        reason="CELERY_BROKER_URL is not set: these tests need a Redis broker",
    ),
]
QUEUES = ["training", "serving", "default"]
TASK_TIMEOUT = 60  # seconds a task may take through the broker before failing


@pytest.fixture
def live_worker():
    """Run a solo worker thread on every queue, with eager execution off."""
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as connection:
        for queue in QUEUES:
            # Leftover messages of earlier runs would run in this test.
            connection.default_channel.queue_purge(queue)
    try:
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=QUEUES,
            shutdown_timeout=TASK_TIMEOUT,
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = was_eager


@pytest.mark.django_db(transaction=True)
def test_worker_builds_profiles_through_broker(movielens_slice, live_worker):
    Profile.objects.update(features={}, features_updated_at=None)
    user = Profile.objects.get(user__external_id="movielens:1").user
    expected = Interaction.objects.filter(user=user).count()

    result = build_profiles_task.delay()
    count = result.get(timeout=TASK_TIMEOUT)

    assert not isinstance(result, EagerResult)
    assert count == Profile.objects.count()
    assert not Profile.objects.filter(features_updated_at=None).exists()
    assert Profile.objects.get(user=user).features["interactions"] == expected


@pytest.mark.django_db(transaction=True)
def test_training_through_broker_chains_precompute(movielens_slice, live_worker):
    version_ids = train_models_task.delay().get(timeout=TASK_TIMEOUT)

    serving = ModelVersion.objects.get(pk__in=version_ids, algorithm="item_knn")
    assert serving.is_active
    assert wait_for(
        lambda: UserRecommendations.objects.filter(model_version=serving).exists()
    )


def wait_for(condition, timeout: float = TASK_TIMEOUT) -> bool:
    """Return whether condition() became true within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
