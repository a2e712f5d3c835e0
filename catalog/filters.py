"""Query parameters of the item list: filters, search and ordering."""

from django.db.models import QuerySet
from rest_framework import serializers

from catalog.models import ItemKind

ORDERINGS = ["id", "-id", "title", "-title", "created_at", "-created_at"]


class ItemQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ItemKind.choices, required=False)
    category = serializers.SlugField(
        required=False, help_text="slug of a category the item belongs to"
    )
    tag = serializers.SlugField(required=False, help_text="slug of a tag on the item")
    active = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true or false; omitted lists active and inactive items",
    )
    search = serializers.CharField(
        required=False, max_length=100, help_text="case-insensitive part of the title"
    )
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        default="id",
        help_text="a leading - sorts descending",
    )


def filter_items(items: QuerySet, params: dict) -> QuerySet:
    """Apply the validated query parameters of ItemQuerySerializer."""
    if params.get("type"):
        items = items.filter(kind=params["type"])
    if params.get("category"):
        items = items.filter(categories__slug=params["category"])
    if params.get("tag"):
        items = items.filter(tags__slug=params["tag"])
    if params.get("active") is not None:
        items = items.filter(is_active=params["active"])
    if params.get("search"):
        items = items.filter(title__icontains=params["search"])
    return items


def ordering_for(params: dict) -> tuple[str, ...]:
    """Return the ordering with id as the tie-breaker the cursor needs."""
    field = params.get("ordering") or "id"
    if field.lstrip("-") == "id":
        return (field,)
    tie_breaker = "-id" if field.startswith("-") else "id"
    return (field, tie_breaker)
