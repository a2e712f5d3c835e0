"""A registry of where each app keeps personal data, for export and erasure.

Each app that stores rows about a user registers one or more sections from
its AppConfig.ready(), so that the knowledge of what is personal stays in
the app that stores it:

    from accounts.personal_data import register

    register("deliveries", export=export_deliveries, erase=erase_deliveries)

export(user) returns a list of JSON-serializable dicts and erase(user)
removes or anonymizes the rows and returns how many it touched. Erasure
runs the sections in reverse registration order: accounts registers first,
so the apps built on it clear their rows before the user row goes.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Exporter = Callable[[Any], list[dict]]
Eraser = Callable[[Any], int]


@dataclass(frozen=True)
class Section:
    name: str
    export: Exporter
    erase: Eraser


_sections: dict[str, Section] = {}


def register(name: str, *, export: Exporter, erase: Eraser) -> None:
    """Add a section; registering a taken name raises ValueError."""
    if name in _sections:
        raise ValueError(
            f"Personal-data section {name!r} is already registered: pick another name."
        )
    _sections[name] = Section(name, export, erase)


def sections() -> list[Section]:
    return list(_sections.values())
