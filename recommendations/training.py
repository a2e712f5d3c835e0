"""Train a registered algorithm, record its version, precompute top lists."""

import logging
import math
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommendations import registry
from recommendations.algorithms import get_algorithm
from recommendations.dataset import InteractionData, load_interaction_data
from recommendations.models import (
    ModelStatus,
    ModelVersion,
    UserRecommendations,
)

logger = logging.getLogger(__name__)
PRECOMPUTE_BATCH = 500  # users per scoring batch: 500 x 1,682 floats is 7 MB


def check_params(params: dict) -> None:
    """Reject NaN or infinite hyperparameters before any work starts."""
    for key, value in params.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Parameter {key}={value} is not a finite number.")


def train(
    algorithm: str, params: dict | None = None, data: InteractionData | None = None
) -> ModelVersion:
    """Fit one algorithm on the interaction log and activate the new version.

    A failed fit is recorded with status failed and its error, and leaves the
    active version in place.
    """
    params = params or {}
    model_class = get_algorithm(algorithm)
    check_params(params)
    started = time.perf_counter()
    data = data if data is not None else load_interaction_data()
    version = ModelVersion.objects.create(
        algorithm=algorithm,
        params=params,
        n_users=data.n_users,
        n_items=data.n_items,
        n_interactions=data.n_interactions,
    )
    logger.info(
        "Training %s on %s interactions, %s users, %s items",
        version.label,
        data.n_interactions,
        data.n_users,
        data.n_items,
    )
    try:
        model = model_class(**params).fit(data)
        path = registry.save_artifact(version, model, data.user_ids, data.item_ids)
    except Exception as error:
        version.status = ModelStatus.FAILED
        version.error = f"{type(error).__name__}: {error}"
        version.duration_seconds = time.perf_counter() - started
        version.save(update_fields=["status", "error", "duration_seconds"])
        logger.exception("Training %s failed", version.label)
        raise

    version.status = ModelStatus.READY
    version.artifact_path = str(path)
    version.params = model.get_params()
    version.duration_seconds = round(time.perf_counter() - started, 3)
    version.save(
        update_fields=["status", "artifact_path", "params", "duration_seconds"]
    )
    registry.activate(version)
    logger.info("Trained %s in %.2f s", version.label, version.duration_seconds)
    return version


def precompute(version: ModelVersion, data: InteractionData | None = None) -> int:
    """Write each trained user's top list from the version; return the count.

    data must be the snapshot the version was trained on, or a newer one with
    the same items; otherwise the item columns would not line up.
    """
    loaded = registry.load_version(version)
    data = data if data is not None else load_interaction_data()
    if not np.array_equal(data.item_ids, loaded.item_ids):
        raise ValueError(
            f"The catalogue changed since {version.label} was trained: "
            "retrain before precomputing."
        )

    model_rows = {int(user_id): row for row, user_id in enumerate(loaded.user_ids)}
    data_rows = data.user_index()
    users = [user_id for user_id in data_rows if user_id in model_rows]
    length = settings.ATTUNE_PRECOMPUTE_LENGTH
    now = timezone.now()
    rows: list[UserRecommendations] = []

    for start in range(0, len(users), PRECOMPUTE_BATCH):
        batch = users[start : start + PRECOMPUTE_BATCH]
        history = data.matrix[[data_rows[user_id] for user_id in batch]]
        model_indices = np.array([model_rows[user_id] for user_id in batch])
        top_items, top_scores = loaded.model.recommend(model_indices, history, length)
        for row, user_id in enumerate(batch):
            entries = top_list_entries(
                loaded, history[row], top_items[row], top_scores[row]
            )
            rows.append(
                UserRecommendations(
                    user_id=user_id,
                    model_version=version,
                    entries=entries,
                    computed_at=now,
                )
            )

    with transaction.atomic():
        UserRecommendations.objects.filter(user_id__in=users).delete()
        UserRecommendations.objects.bulk_create(rows, batch_size=500)
    logger.info("Precomputed %s top lists from %s", len(rows), version.label)
    return len(rows)


def top_list_entries(loaded, history_row, items, scores) -> list[list]:
    """Return [item id, score, id of the seen item behind it or None] rows."""
    causes = loaded.model.explain(history_row, items)
    return [
        [
            int(loaded.item_ids[item]),
            round(float(score), 6),
            int(loaded.item_ids[cause]) if cause is not None else None,
        ]
        for item, score, cause in zip(items, scores, causes, strict=True)
    ]
