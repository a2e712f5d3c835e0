from celery import chain
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recommendations.algorithms import REGISTRY
from recommendations.tasks import build_profiles_task, train_models_task


class Command(BaseCommand):
    help = (
        "Build profiles, train the recommenders and precompute top lists. "
        "Runs in process unless --queue sends the work to a Celery worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm",
            action="append",
            choices=sorted(REGISTRY),
            help="algorithm to train; repeat for several (default: popularity, "
            "content and ATTUNE_SERVING_ALGORITHM)",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="send the tasks to the broker instead of running them here",
        )

    def handle(self, *args, algorithm, queue, **options):
        if queue:
            if not settings.CELERY_BROKER_URL:
                raise CommandError(
                    "--queue needs a broker: set CELERY_BROKER_URL, as in "
                    "redis://127.0.0.1:6379/0, or leave out --queue."
                )
            # Training waits for the profiles it reads, so the two run in order.
            result = chain(
                build_profiles_task.si(), train_models_task.si(algorithm)
            ).apply_async()
            self.stdout.write(f"Queued profile building and training as {result.id}.")
            return

        try:
            count = build_profiles_task.apply().get()
            versions = train_models_task.apply(args=(algorithm,)).get()
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Built {count} profiles.")
        self.stdout.write(f"Trained model versions {versions}.")
