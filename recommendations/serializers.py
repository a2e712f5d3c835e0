from rest_framework import serializers

from catalog.models import Category, ItemKind
from recommendations.algorithms import REGISTRY
from recommendations.events import MAX_BATCH, MAX_EVENT_ID_LENGTH
from recommendations.models import InteractionKind, ModelStatus, ModelVersion


class RecommendationQuerySerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=100, default=10)
    type = serializers.ChoiceField(choices=ItemKind.choices, required=False)
    category = serializers.SlugField(
        required=False, help_text="slug of a category, as in the catalog's items"
    )

    def validate_category(self, value: str) -> str:
        if not Category.objects.filter(slug=value).exists():
            raise serializers.ValidationError(
                f"No category has the slug {value!r}: use a slug listed in an "
                "item's categories."
            )
        return value


def parse_recommendation_query(params) -> dict:
    """Return the validated n, type and category of a recommendation request.

    The common request with only n is checked by hand, because building the
    serializer costs about half a millisecond per request. Anything else goes
    through RecommendationQuerySerializer and its error messages.
    """
    n = params.get("n", "10")
    if set(params) <= {"n"} and n.isascii() and n.isdigit() and 1 <= int(n) <= 100:
        return {"n": int(n)}

    query = RecommendationQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class SimilarQuerySerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=100, default=10)


class RecommendedItemSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(source="item.pk")
    type = serializers.CharField(source="item.kind")
    title = serializers.CharField(source="item.title")
    url = serializers.CharField(source="item.url")
    score = serializers.FloatField()
    reason = serializers.CharField()
    source = serializers.CharField(
        help_text="personal, popular_in_group, popular, item_knn or "
        "same_category_popular: the path that chose it"
    )
    model_version = serializers.CharField(
        help_text="algorithm:version id, empty when no model was involved"
    )


class RecommendationListSerializer(serializers.Serializer):
    personalized = serializers.BooleanField(
        help_text="true when a personal model produced at least one item; "
        "false when every item came from a fallback such as popularity"
    )
    items = RecommendedItemSerializer(many=True)


class SimilarItemsSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(help_text="the item the others are similar to")
    source = serializers.ChoiceField(
        choices=["item_knn", "same_category_popular"],
        help_text="item_knn: the active item-kNN model's neighbours; "
        "same_category_popular: the fallback when the model has none",
    )
    items = RecommendedItemSerializer(many=True)


class EventSerializer(serializers.Serializer):
    """One event; documents the body that recommendations.events checks."""

    event_id = serializers.CharField(
        max_length=MAX_EVENT_ID_LENGTH,
        help_text="client id unique to this event; a repeated id is a duplicate",
    )
    user = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="user id; omitted means the caller. Another user needs staff "
        "or the recommendations.add_interaction permission",
    )
    item = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    value = serializers.FloatField(
        required=False, allow_null=True, help_text="required for kind rating"
    )
    time = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 with a UTC offset, at most 5 minutes ahead of the "
        "server; omitted means now",
    )


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, min_length=1, max_length=MAX_BATCH)


class EventErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="position of the event in the batch")
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class EventResultSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="events stored by this request")
    duplicates = serializers.IntegerField(
        help_text="events whose event_id was already stored; acknowledged, "
        "not stored again"
    )
    rejected = serializers.IntegerField(help_text="invalid events, listed in errors")
    errors = EventErrorSerializer(many=True)


class ModelVersionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "label",
            "algorithm",
            "params",
            "status",
            "is_active",
            "metrics",
            "n_users",
            "n_items",
            "n_interactions",
            "duration_seconds",
            "error",
            "created_at",
            "activated_at",
        ]
        read_only_fields = fields


class ModelVersionQuerySerializer(serializers.Serializer):
    algorithm = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(choices=ModelStatus.choices, required=False)


class RetrainRequestSerializer(serializers.Serializer):
    algorithms = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_empty=False,
        help_text="algorithm names; omitted trains popularity and the serving one",
    )

    def validate_algorithms(self, names):
        unknown = [name for name in names if name not in REGISTRY]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown algorithm {unknown[0]!r}; known: {sorted(REGISTRY)}."
            )
        return names


class RetrainResponseSerializer(serializers.Serializer):
    task_id = serializers.CharField(help_text="Celery task id of the queued run")
    algorithms = serializers.ListField(child=serializers.CharField(), allow_null=True)


class TrainingStatusQuerySerializer(serializers.Serializer):
    task_id = serializers.CharField(
        required=False, max_length=64, help_text="a task id returned by retrain"
    )


class TaskStateSerializer(serializers.Serializer):
    id = serializers.CharField()
    state = serializers.CharField(
        allow_null=True,
        help_text="Celery state such as PENDING, STARTED, SUCCESS or FAILURE; "
        "null when no result backend is configured",
    )


class TrainingStatusSerializer(serializers.Serializer):
    training = ModelVersionSerializer(many=True, help_text="runs still training")
    recent = ModelVersionSerializer(
        many=True, help_text="the latest finished runs, ready or failed"
    )
    task = TaskStateSerializer(allow_null=True)
