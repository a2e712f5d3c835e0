"""Default beat schedule: installed by migrate, kept once, edits preserved."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app as celery_app
from recommendations.schedules import DEFAULT_SCHEDULES

PROFILES_TASK = "recommendations.tasks.build_profiles_task"
TRAINING_TASK = "recommendations.tasks.train_models_task"
PRECOMPUTE_TASK = "recommendations.tasks.precompute_recommendations_task"


def migrate() -> None:
    call_command("migrate", verbosity=0)


def queue_of(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name)
    return route["queue"].name


@pytest.mark.django_db
def test_profiles_task_runs_hourly():
    task = PeriodicTask.objects.get(task=PROFILES_TASK)

    assert task.enabled
    assert task.crontab.minute == "0"
    assert task.crontab.hour == "*"
    assert task.crontab.day_of_week == "*"


@pytest.mark.django_db
def test_training_task_runs_nightly():
    task = PeriodicTask.objects.get(task=TRAINING_TASK)

    assert task.enabled
    assert task.crontab.minute == "30"
    assert task.crontab.hour == "2"
    assert str(task.crontab.timezone) == "UTC"


@pytest.mark.django_db
def test_precompute_has_no_clock_entry():
    assert not PeriodicTask.objects.filter(task=PRECOMPUTE_TASK).exists()


@pytest.mark.django_db
def test_second_migrate_adds_no_duplicates():
    crontabs = CrontabSchedule.objects.count()

    migrate()

    for entry in DEFAULT_SCHEDULES:
        assert PeriodicTask.objects.filter(task=entry.task).count() == 1
    assert CrontabSchedule.objects.count() == crontabs


@pytest.mark.django_db
def test_migrate_keeps_staff_edits():
    task = PeriodicTask.objects.get(task=TRAINING_TASK)
    task.name = "Retrain at four"
    task.crontab = CrontabSchedule.objects.create(minute="0", hour="4")
    task.enabled = False
    task.save()

    migrate()

    task = PeriodicTask.objects.get(task=TRAINING_TASK)
    assert task.name == "Retrain at four"
    assert task.crontab.hour == "4"
    assert not task.enabled


@pytest.mark.django_db
def test_migrate_restores_deleted_default():
    PeriodicTask.objects.filter(task=PROFILES_TASK).delete()

    migrate()

    assert PeriodicTask.objects.filter(task=PROFILES_TASK).count() == 1


@pytest.mark.django_db
def test_name_taken_by_other_task_is_left_alone():
    PeriodicTask.objects.filter(task=PROFILES_TASK).delete()
    PeriodicTask.objects.create(
        name="Build profiles hourly",
        task="campaigns.tasks.something_else_task",
        crontab=CrontabSchedule.objects.create(minute="5"),
    )

    migrate()

    assert not PeriodicTask.objects.filter(task=PROFILES_TASK).exists()
    assert PeriodicTask.objects.get(name="Build profiles hourly").task == (
        "campaigns.tasks.something_else_task"
    )


@pytest.mark.django_db
def test_beat_reads_nightly_entry():
    model = PeriodicTask.objects.get(task=TRAINING_TASK)

    entry = DatabaseScheduler.Entry(model, app=celery_app)
    _, seconds_to_next_run = entry.is_due()

    assert entry.task == TRAINING_TASK
    assert entry.schedule.hour == {2}
    assert entry.schedule.minute == {30}
    assert 0 < seconds_to_next_run <= 24 * 3600


def test_training_work_routes_to_training_queue():
    assert queue_of(PROFILES_TASK) == "training"
    assert queue_of(TRAINING_TASK) == "training"


def test_precompute_routes_to_serving_queue():
    assert queue_of(PRECOMPUTE_TASK) == "serving"
