"""Shared setup for the benchmark scripts: Django, data, machine description."""

import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"


def setup_django(own_database: bool = False) -> None:
    """Configure Django with the test settings.

    With own_database, point Django at a fresh SQLite file in a temporary
    folder and migrate it, so a benchmark that records model versions never
    touches the developer's database.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    if own_database:
        os.environ["ATTUNE_VAR_DIR"] = tempfile.mkdtemp(prefix="attune-bench-")
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    if own_database:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [
            f"{cell:.4f}" if isinstance(cell, float) else str(cell) for cell in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_result(name: str, text: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(text)
    return path
