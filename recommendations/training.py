"""Train a registered algorithm, record its version, precompute top lists."""

import logging
import math
import time

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from scipy import sparse

from recommendations import registry
from recommendations.algorithms import Recommender, get_algorithm
from recommendations.dataset import InteractionData, load_interaction_data
from recommendations.evaluation.metrics import ranking_metrics
from recommendations.evaluation.runner import recommend_lists
from recommendations.evaluation.splits import split_data
from recommendations.models import (
    ModelStatus,
    ModelVersion,
    UserRecommendations,
)

logger = logging.getLogger(__name__)
PRECOMPUTE_BATCH = 500  # users per scoring batch: 500 x 1,682 floats is 7 MB
PROMOTION_K = 10  # promotion compares nDCG at this cut-off


def check_params(params: dict) -> None:
    """Reject NaN or infinite hyperparameters, nested ones too, before any work."""
    for key, value in params.items():
        if isinstance(value, dict):
            check_params({f"{key}.{inner}": v for inner, v in value.items()})
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Parameter {key}={value} is not a finite number.")


def check_learned_state(model: Recommender) -> None:
    """Raise ValueError when a learned array contains NaN or infinite values."""
    try:
        state = model.get_state()
    except NotImplementedError:  # a model that saves its own artifact format
        return
    for key, value in state.items():
        values = value.data if sparse.issparse(value) else value
        array = np.asarray(values)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise ValueError(
                f"{model.name} learned non-finite values in {key}: lower the "
                "learning rate or raise the regularization."
            )


def evaluation_metrics(model_class, params: dict, data: InteractionData) -> dict:
    """Fit on the stratified training part of data and score its test part."""
    split = split_data(data, "stratified")
    model = model_class(**params).fit(split.train)
    check_learned_state(model)
    lists = recommend_lists(model, split, PROMOTION_K)
    metrics = ranking_metrics(lists, split.test, PROMOTION_K, data.n_items)
    return {key: round(float(value), 6) for key, value in metrics.items()}


def train(
    algorithm: str, params: dict | None = None, data: InteractionData | None = None
) -> ModelVersion:
    """Fit one algorithm, record its version and promote it if it is no worse.

    The version is first evaluated on the stratified split of data (fit on
    the 75 % part, nDCG@10 on the rest), then fitted on all of data. It
    becomes active only if its nDCG@10 is at least the active version's.
    Otherwise it is stored with status rejected, and the active one keeps
    serving. A failed fit, or learned NaN or infinite values, is recorded
    with status failed and its error, re-raised, and changes nothing else.
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
        metrics = evaluation_metrics(model_class, params, data)
        model = model_class(**params).fit(data)
        check_learned_state(model)
        path = registry.save_artifact(version, model, data.user_ids, data.item_ids)
    except Exception as error:
        record_failure(version, error, started)
        raise

    version.status = ModelStatus.READY
    version.artifact_path = str(path)
    version.params = model.get_params()
    version.metrics = metrics
    version.duration_seconds = round(time.perf_counter() - started, 3)
    version.save(
        update_fields=[
            "status",
            "artifact_path",
            "params",
            "metrics",
            "duration_seconds",
        ]
    )
    promote(version, data)
    logger.info("Trained %s in %.2f s", version.label, version.duration_seconds)
    return version


def record_failure(version: ModelVersion, error: Exception, started: float) -> None:
    version.status = ModelStatus.FAILED
    version.error = f"{type(error).__name__}: {error}"
    version.duration_seconds = round(time.perf_counter() - started, 3)
    version.save(update_fields=["status", "error", "duration_seconds"])
    logger.error("Training %s failed: %s", version.label, version.error, exc_info=error)


def promote(version: ModelVersion, data: InteractionData) -> bool:
    """Activate the version unless its nDCG@10 is below the active one's.

    Both are measured on the same stratified split of data: the active
    version's parameters are refitted on it when they differ from the new
    ones. With equal parameters the two fits are the same run, so the new
    version (trained on the newer snapshot) is activated.
    """
    current = registry.active_version(version.algorithm)
    if current is None or current.pk == version.pk or current.params == version.params:
        registry.activate(version)
        return True

    metric = f"ndcg@{PROMOTION_K}"
    new_value = float(version.metrics.get(metric, 0.0))
    try:
        baseline = evaluation_metrics(
            get_algorithm(version.algorithm), current.params, data
        )
    except (TypeError, ValueError) as error:
        # The active version's parameters no longer fit this algorithm or
        # data; it cannot be measured, so the new version takes over.
        logger.warning("Could not re-evaluate %s: %s", current.label, error)
        baseline = {metric: float("-inf")}
    old_value = float(baseline[metric])
    version.metrics = {**version.metrics, f"active_{metric}": old_value}
    if new_value < old_value:
        version.status = ModelStatus.REJECTED
        version.error = (
            f"{metric} {new_value:.4f} is below {old_value:.4f} of the active "
            f"version {current.label} on the same split; it keeps serving."
        )
        version.save(update_fields=["status", "error", "metrics"])
        logger.warning("Rejected %s: %s", version.label, version.error)
        return False

    version.save(update_fields=["metrics"])
    registry.activate(version)
    return True


def precompute(version: ModelVersion, data: InteractionData | None = None) -> int:
    """Write each trained user's top list from the version; return the count.

    data must be the snapshot the version was trained on, or a newer one with
    the same items, because otherwise the item columns would not line up.
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

    # Each batch is written in its own transaction, so memory contains one batch
    # of lists and a reader sees a user's old list or new list, never none.
    for start in range(0, len(users), PRECOMPUTE_BATCH):
        batch = users[start : start + PRECOMPUTE_BATCH]
        history = data.matrix[[data_rows[user_id] for user_id in batch]]
        model_indices = np.array([model_rows[user_id] for user_id in batch])
        top_items, top_scores = loaded.model.recommend(model_indices, history, length)
        causes = loaded.model.explain_rows(history, top_items)
        rows = [
            UserRecommendations(
                user_id=user_id,
                model_version=version,
                entries=top_list_entries(
                    loaded, top_items[row], top_scores[row], causes[row]
                ),
                computed_at=now,
            )
            for row, user_id in enumerate(batch)
        ]
        with transaction.atomic():
            UserRecommendations.objects.filter(user_id__in=batch).delete()
            UserRecommendations.objects.bulk_create(rows, batch_size=500)
    logger.info("Precomputed %s top lists from %s", len(users), version.label)
    return len(users)


def top_list_entries(loaded, items, scores, causes) -> list[list]:
    """Return [item id, score, id of the seen item behind it or None] rows."""
    return [
        [
            int(loaded.item_ids[item]),
            round(float(score), 6),
            int(loaded.item_ids[cause]) if cause is not None else None,
        ]
        for item, score, cause in zip(items, scores, causes, strict=True)
    ]
