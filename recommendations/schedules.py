"""Default Celery beat entries, stored by django-celery-beat and edited in the admin.

A post_migrate handler installs them, rather than a data migration. Django
sends post_migrate after every migrate and after every flush, and the test
suite's transactional tests flush the database. So the entries exist
whenever the tables do, as content types and permissions do. The handler
creates an entry only when no periodic task runs its task yet, so staff
edits to the schedule, arguments, name or enabled flag survive later
migrations. To stop an entry, untick "enabled": a deleted default entry is
created again by the next migrate.

Precomputing top lists has no entry: training queues it for each version
it promotes.
"""

import logging
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DefaultSchedule:
    """A periodic task created on migrate; minute and hour are crontab fields."""

    name: str
    task: str
    minute: str
    hour: str
    description: str


DEFAULT_SCHEDULES = (
    DefaultSchedule(
        name="Build profiles hourly",
        task="recommendations.tasks.build_profiles_task",
        minute="0",
        hour="*",
        description="Rebuild the behaviour features of users who consented to "
        "personalization, and clear them for users who withdrew.",
    ),
    DefaultSchedule(
        name="Retrain recommenders nightly",
        task="recommendations.tasks.train_models_task",
        minute="30",
        hour="2",
        description="Train the recommenders on the interaction log. Each "
        "promoted version of the serving algorithm queues the precompute task.",
    ),
)


def install_default_schedules(apps=global_apps, using=DEFAULT_DB_ALIAS) -> list[str]:
    """Create the default entries whose task has none yet; return their names.

    apps is the app registry whose models to use: a migration state in the
    post_migrate handler, the installed apps otherwise.
    """
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    tasks = periodic_task.objects.using(using)
    created = []
    for entry in DEFAULT_SCHEDULES:
        if tasks.filter(task=entry.task).exists():
            continue
        if tasks.filter(name=entry.name).exists():
            logger.warning(
                "Periodic task %r exists but does not run %s; the default "
                "entry is not installed. Rename that entry and run migrate.",
                entry.name,
                entry.task,
            )
            continue
        tasks.create(
            name=entry.name,
            task=entry.task,
            crontab=crontab_for(apps, using, entry),
            description=entry.description,
        )
        created.append(entry.name)

    if created:
        mark_schedule_changed(apps, using)
        logger.info("Installed periodic tasks: %s", ", ".join(created))
    return created


def crontab_for(apps, using: str, entry: DefaultSchedule):
    crontab_schedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    schedule, _ = crontab_schedule.objects.using(using).get_or_create(
        minute=entry.minute,
        hour=entry.hour,
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.CELERY_TIMEZONE,
    )
    return schedule


def mark_schedule_changed(apps, using: str) -> None:
    """Bump the change stamp that a running beat polls to reload its schedule.

    A migration state's models lack PeriodicTasks.update_changed(), so this
    writes the row that method writes.
    """
    periodic_tasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    periodic_tasks.objects.using(using).update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def install_after_migrate(
    sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs
):
    """Handle post_migrate: install the defaults once the beat tables exist."""
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return
    install_default_schedules(apps, using)
