from rest_framework import serializers

from catalog.models import ItemKind


class RecommendationQuerySerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=100, default=10)
    type = serializers.ChoiceField(choices=ItemKind.choices, required=False)
    category = serializers.SlugField(required=False)


class RecommendedItemSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(source="item.pk")
    type = serializers.CharField(source="item.kind")
    title = serializers.CharField(source="item.title")
    url = serializers.CharField(source="item.url")
    score = serializers.FloatField()
    reason = serializers.CharField()
    source = serializers.CharField(
        help_text="personal, popular_in_group or popular: the path that chose it"
    )
    model_version = serializers.CharField(help_text="algorithm:version id")


class RecommendationListSerializer(serializers.Serializer):
    personalized = serializers.BooleanField(
        help_text="true when a personal model produced at least one item"
    )
    items = RecommendedItemSerializer(many=True)
