"""Item representations for the API: one shape for products, courses and posts.

Each item carries its subtype's fields in an object named after its type
("product", "course" or "post"); the other two are null. Create and update
take the same shape, so a validation error names, for example, "product.price".
"""

from django.db import transaction
from rest_framework import serializers

from catalog.models import Category, Course, Item, ItemKind, Post, Product, Tag

SUBTYPES = {
    ItemKind.PRODUCT: Product,
    ItemKind.COURSE: Course,
    ItemKind.POST: Post,
}


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["price", "currency", "sku", "in_stock", "released_on"]
        extra_kwargs = {"price": {"min_value": 0}}


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["level", "duration_hours", "price"]
        extra_kwargs = {"price": {"min_value": 0}}


class PostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["author", "published_at"]


class ItemSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="kind", choices=ItemKind.choices)
    categories = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Category.objects.all(), required=False
    )
    tags = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Tag.objects.all(), required=False
    )
    product = ProductSerializer(allow_null=True, required=False)
    course = CourseSerializer(allow_null=True, required=False)
    post = PostSerializer(allow_null=True, required=False)

    class Meta:
        model = Item
        fields = [
            "id",
            "type",
            "title",
            "description",
            "url",
            "image_url",
            "categories",
            "tags",
            "is_active",
            "external_id",
            "product",
            "course",
            "post",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for kind in SUBTYPES:
            if kind != instance.kind:
                data[kind] = None
        return data

    def validate_external_id(self, value):
        # Stored as NULL when empty, because the column is unique.
        return value or None

    def validate(self, attrs):
        kind = attrs.get("kind") or (self.instance.kind if self.instance else None)
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError(
                {"type": f"An item's type cannot change from {self.instance.kind}."}
            )
        for other in SUBTYPES:
            if other != kind and attrs.get(other) is not None:
                raise serializers.ValidationError(
                    {other: f"Only an item of type {other} takes {other} fields."}
                )
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        kind = validated_data["kind"]
        subtype_data = pop_subtype_data(validated_data)
        categories = validated_data.pop("categories", [])
        tags = validated_data.pop("tags", [])
        item = Item.objects.create(**validated_data)
        item.categories.set(categories)
        item.tags.set(tags)
        SUBTYPES[kind].objects.create(item=item, **(subtype_data or {}))
        return item

    @transaction.atomic
    def update(self, instance, validated_data):
        subtype_data = pop_subtype_data(validated_data)
        categories = validated_data.pop("categories", None)
        tags = validated_data.pop("tags", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save()
        if categories is not None:
            instance.categories.set(categories)
        if tags is not None:
            instance.tags.set(tags)
        if subtype_data:
            SUBTYPES[instance.kind].objects.update_or_create(
                item=instance, defaults=subtype_data
            )
        return instance


def pop_subtype_data(validated_data: dict) -> dict | None:
    """Remove the three subtype objects and return the one for the item's type."""
    found = {kind: validated_data.pop(kind, None) for kind in SUBTYPES}
    kind = validated_data.get("kind")
    return found.get(kind) if kind else next((d for d in found.values() if d), None)
