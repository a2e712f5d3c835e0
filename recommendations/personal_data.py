"""Personal-data sections of recommendations: interactions and top lists.

Deleting the rows is enough for training: load_interaction_data reads the
interaction table, so the next snapshot no longer includes an erased user.
NOTE: model artifacts trained before the erasure still list the user's id
in ids.npz and hold aggregate scores they contributed to, until the next
training run replaces the active version.
"""

from accounts.personal_data import register
from recommendations.models import Interaction, UserRecommendations


def export_interactions(user) -> list[dict]:
    rows = (
        Interaction.objects.filter(user_id=user.pk)
        .order_by("occurred_at", "id")
        .values_list("item_id", "item__title", "kind", "value", "occurred_at")
    )
    return [
        {
            "item_id": item_id,
            "item_title": title,
            "kind": kind,
            "value": value,
            "occurred_at": occurred_at.isoformat(),
        }
        for item_id, title, kind, value, occurred_at in rows.iterator(chunk_size=5_000)
    ]


def erase_interactions(user) -> int:
    deleted, _ = Interaction.objects.filter(user_id=user.pk).delete()
    return deleted


def export_recommendations(user) -> list[dict]:
    stored = (
        UserRecommendations.objects.filter(user_id=user.pk)
        .select_related("model_version")
        .first()
    )
    if stored is None:
        return []
    return [
        {
            "model_version": stored.model_version.label,
            "computed_at": stored.computed_at.isoformat(),
            "items": [
                {"item_id": item_id, "score": score, "because_item_id": because}
                for item_id, score, because in stored.entries
            ],
        }
    ]


def erase_recommendations(user) -> int:
    """Delete the precomputed top list, the only stored recommendation result.

    The serving function keeps no cache of results per user; a cache added
    in front of it must be cleared here as well.
    """
    deleted, _ = UserRecommendations.objects.filter(user_id=user.pk).delete()
    return deleted


def register_sections() -> None:
    register("interactions", export=export_interactions, erase=erase_interactions)
    register(
        "recommendations",
        export=export_recommendations,
        erase=erase_recommendations,
    )
