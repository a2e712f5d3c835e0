from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Give an imported MovieLens user a password so the demo can sign in "
        "as them; prints the login."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default="movielens-1", help="user to sign in as"
        )

    def handle(self, *args, username: str, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(
                f"User {username!r} not found: run import_movielens first."
            ) from None

        user.set_password(settings.ATTUNE_DEMO_PASSWORD)
        user.save(update_fields=["password"])
        self.stdout.write(
            f"Demo login: user {username}, password {settings.ATTUNE_DEMO_PASSWORD}"
        )
