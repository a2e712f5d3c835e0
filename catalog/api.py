"""Catalog endpoints: anyone reads items, staff and catalog writers change them."""

from django.core.cache import cache
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from catalog.filters import ItemQuerySerializer, filter_items, ordering_for
from catalog.models import Category, Item, Tag
from catalog.serializers import ItemSerializer
from config.api import JSON_ONLY, APICursorPagination, error_responses

# Bumped on every catalog change made through the API, so caches of
# recommendation lists built on the old catalog stop being served.
CATALOG_GENERATION_KEY = "catalog:generation"


def bump_catalog_generation() -> None:
    try:
        cache.incr(CATALOG_GENERATION_KEY)
    except ValueError:
        cache.set(CATALOG_GENERATION_KEY, 1, timeout=None)


class CatalogWritePermission(BasePermission):
    """Reads are open; writes need staff or the matching catalog permission.

    A server-side client such as a shop back end is a service-account user
    with catalog.add_item and catalog.change_item and a DRF token.
    """

    message = "Changing the catalog needs staff status or a catalog write token."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if user.is_staff:
            return True
        needed = (
            "catalog.add_item" if request.method == "POST" else "catalog.change_item"
        )
        return user.has_perm(needed)


class ItemCursorPagination(APICursorPagination):
    ordering = "id"

    def get_ordering(self, request, queryset, view):
        return view.item_ordering()


def item_queryset():
    """Items with everything the serializer reads, in a fixed number of queries."""
    return Item.objects.select_related("product", "course", "post").prefetch_related(
        Prefetch("categories", queryset=Category.objects.only("id", "slug")),
        Prefetch("tags", queryset=Tag.objects.only("id", "slug")),
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[ItemQuerySerializer],
        responses={200: ItemSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        responses={200: ItemSerializer, **error_responses(401, 404)}
    ),
    create=extend_schema(
        responses={201: ItemSerializer, **error_responses(400, 401, 403, 415)}
    ),
    update=extend_schema(
        responses={200: ItemSerializer, **error_responses(400, 401, 403, 404, 415)}
    ),
    partial_update=extend_schema(
        responses={200: ItemSerializer, **error_responses(400, 401, 403, 404, 415)}
    ),
    destroy=extend_schema(
        description="Deactivate the item: it stays stored but is no longer "
        "recommended. PATCH is_active=true reactivates it.",
        responses={204: None, **error_responses(401, 403, 404)},
    ),
)
class ItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Products, courses and posts under one item id."""

    serializer_class = ItemSerializer
    lookup_value_regex = r"\d+"
    permission_classes = [CatalogWritePermission]
    parser_classes = JSON_ONLY
    pagination_class = ItemCursorPagination

    def get_queryset(self):
        if self.action != "list":
            return item_queryset()
        return filter_items(item_queryset(), self.query_params())

    def query_params(self) -> dict:
        if not hasattr(self, "_query_params"):
            query = ItemQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            self._query_params = query.validated_data
        return self._query_params

    def item_ordering(self) -> tuple[str, ...]:
        return ordering_for(self.query_params())

    def perform_create(self, serializer):
        super().perform_create(serializer)
        bump_catalog_generation()

    def perform_update(self, serializer):
        super().perform_update(serializer)
        bump_catalog_generation()

    def destroy(self, request, *args, **kwargs):
        item = self.get_object()
        if item.is_active:
            item.is_active = False
            item.save(update_fields=["is_active", "updated_at"])
            bump_catalog_generation()
        return Response(status=status.HTTP_204_NO_CONTENT)
