"""Model versions: where artifacts live, which one is active, loading them."""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommendations.algorithms import Recommender, get_algorithm
from recommendations.models import ModelStatus, ModelVersion

logger = logging.getLogger(__name__)
IDS_FILE = "ids.npz"


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    model: Recommender
    user_ids: np.ndarray
    item_ids: np.ndarray

    def item_positions(self, item_ids) -> np.ndarray:
        """Map item ids to column indices; unknown ids map to -1."""
        item_ids = np.asarray(list(item_ids), dtype=np.int64)
        positions = np.searchsorted(self.item_ids, item_ids)
        positions = np.clip(positions, 0, max(len(self.item_ids) - 1, 0))
        if not len(self.item_ids):
            return np.full(len(item_ids), -1)
        found = self.item_ids[positions] == item_ids
        return np.where(found, positions, -1)


_cache: dict[int, LoadedModel] = {}
_cache_lock = threading.Lock()


def artifact_directory(version: ModelVersion) -> Path:
    return Path(settings.ARTIFACT_DIR) / version.algorithm / str(version.pk)


def save_artifact(
    version: ModelVersion, model: Recommender, user_ids, item_ids
) -> Path:
    directory = artifact_directory(version)
    model.save(directory)
    np.savez(directory / IDS_FILE, user_ids=user_ids, item_ids=item_ids)
    return directory


def active_version(algorithm: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(algorithm=algorithm, is_active=True)
        .order_by("-activated_at", "-id")
        .first()
    )


def load_version(version: ModelVersion) -> LoadedModel:
    """Load a version's artifact once per process; later calls hit the cache."""
    with _cache_lock:
        loaded = _cache.get(version.pk)
        if loaded is not None:
            return loaded

        directory = Path(version.artifact_path)
        model = get_algorithm(version.algorithm).load(directory)
        with np.load(directory / IDS_FILE) as ids:
            loaded = LoadedModel(version, model, ids["user_ids"], ids["item_ids"])
        _cache[version.pk] = loaded
        logger.info("Loaded model %s from %s", version.label, directory)
        return loaded


def load_active(algorithm: str) -> LoadedModel | None:
    version = active_version(algorithm)
    if version is None:
        return None
    return load_version(version)


@transaction.atomic
def activate(version: ModelVersion) -> ModelVersion:
    """Make the version the only active one of its algorithm."""
    if version.status != ModelStatus.READY:
        raise ValueError(
            f"Model {version.label} has status {version.status}; only a ready "
            "version can be activated."
        )

    ModelVersion.objects.select_for_update().filter(
        algorithm=version.algorithm, is_active=True
    ).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    logger.info("Activated model %s", version.label)
    return version


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def previous_version(algorithm: str) -> ModelVersion | None:
    """Return the ready version of algorithm activated most recently, not now active."""
    return (
        ModelVersion.objects.filter(
            algorithm=algorithm,
            status=ModelStatus.READY,
            is_active=False,
            activated_at__isnull=False,
        )
        .order_by("-activated_at", "-id")
        .first()
    )


@transaction.atomic
def rollback(algorithm: str) -> ModelVersion:
    """Re-activate the ready version that was active before the current one.

    activate() stamps the restored version with a new activation time, so a
    second rollback returns to the version the first one replaced. Raises
    ValueError when no earlier ready version exists, and changes nothing.
    """
    previous = previous_version(algorithm)
    if previous is None:
        raise ValueError(
            f"No earlier ready version of {algorithm!r} to roll back to: train "
            "a new version or activate one by id."
        )

    current = active_version(algorithm)
    activate(previous)
    logger.info(
        "Rolled back %s from %s to %s",
        algorithm,
        current.label if current else "none",
        previous.label,
    )
    return previous
