"""Recommendation, event and model-operation endpoints; logic lives elsewhere."""

import uuid

from celery.result import AsyncResult
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Item
from config.api import JSON_ONLY, APICursorPagination, error_responses
from recommendations import events
from recommendations.models import ModelStatus, ModelVersion
from recommendations.response_cache import cached_recommendations
from recommendations.serializers import (
    EventBatchSerializer,
    EventResultSerializer,
    EventSerializer,
    ModelVersionQuerySerializer,
    ModelVersionSerializer,
    RecommendationListSerializer,
    RecommendationQuerySerializer,
    RetrainRequestSerializer,
    RetrainResponseSerializer,
    SimilarItemsSerializer,
    SimilarQuerySerializer,
    TrainingStatusQuerySerializer,
    TrainingStatusSerializer,
    parse_recommendation_query,
)
from recommendations.services import recommend, similar_items
from recommendations.tasks import train_models_task

# A server-side client that reads any user's list is a service account
# with this permission and a DRF token.
VIEW_ANY_USER_PERMISSION = "recommendations.view_userrecommendations"
RECENT_RUNS = 20


def validated_query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class MyRecommendationsView(APIView):
    """Top-n recommendations for the signed-in user."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "recommendations"

    @extend_schema(
        parameters=[RecommendationQuerySerializer],
        responses={200: RecommendationListSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        query = parse_recommendation_query(request.query_params)
        data = cached_recommendations(
            request.user,
            query["n"],
            kind=query.get("type"),
            category=query.get("category"),
        )
        return Response(data)


class UserRecommendationsView(APIView):
    """Top-n recommendations for any user, for staff and server-side clients.

    Callers without staff status or the view_userrecommendations permission
    get 404 for every user but themselves, so ids cannot be probed.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[RecommendationQuerySerializer],
        responses={
            200: RecommendationListSerializer,
            **error_responses(400, 401, 404),
        },
    )
    def get(self, request, user_id: int):
        caller = request.user
        allowed = caller.is_staff or caller.has_perm(VIEW_ANY_USER_PERMISSION)
        if user_id != caller.pk and not allowed:
            raise Http404("No user with this id is visible to you.")
        user = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
        query = validated_query(RecommendationQuerySerializer, request)
        result = recommend(
            user, query["n"], kind=query.get("type"), category=query.get("category")
        )
        return Response(RecommendationListSerializer(result).data)


class SimilarItemsView(APIView):
    """Items similar to one item; open to anonymous visitors."""

    permission_classes = []

    @extend_schema(
        parameters=[SimilarQuerySerializer],
        responses={200: SimilarItemsSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request, item_id: int):
        item = get_object_or_404(Item, pk=item_id)
        query = validated_query(SimilarQuerySerializer, request)
        result = similar_items(item, query["n"])
        return Response(SimilarItemsSerializer(result).data)


class EventsView(APIView):
    """Store one event or a batch; each event succeeds or fails on its own."""

    permission_classes = [IsAuthenticated]
    parser_classes = JSON_ONLY

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch",
            serializers=[EventSerializer, EventBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            200: OpenApiResponse(
                EventResultSerializer, description="Every event stored or duplicate."
            ),
            207: OpenApiResponse(
                EventResultSerializer,
                description="Some events rejected, listed in errors; the "
                "others were stored or acknowledged as duplicates.",
            ),
            **error_responses(400, 401, 415),
        },
    )
    def post(self, request):
        try:
            result = events.ingest_events(request.data, request.user)
        except events.BatchError as error:
            raise ValidationError(
                {error.field or "non_field_errors": [str(error)]}, code=error.code
            ) from error
        body = EventResultSerializer(result).data
        code = status.HTTP_207_MULTI_STATUS if result.rejected else status.HTTP_200_OK
        return Response(body, status=code)


class ModelVersionPagination(APICursorPagination):
    ordering = "-id"


@extend_schema_view(
    list=extend_schema(
        parameters=[ModelVersionQuerySerializer],
        responses={
            200: ModelVersionSerializer(many=True),
            **error_responses(400, 401, 403),
        },
    ),
    retrieve=extend_schema(
        responses={200: ModelVersionSerializer, **error_responses(401, 403, 404)}
    ),
)
class ModelVersionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Trained model versions with their metrics, for staff."""

    serializer_class = ModelVersionSerializer
    lookup_value_regex = r"\d+"
    permission_classes = [IsAdminUser]
    pagination_class = ModelVersionPagination
    queryset = ModelVersion.objects.all()

    def get_queryset(self):
        versions = ModelVersion.objects.all()
        if self.action != "list":
            return versions
        query = validated_query(ModelVersionQuerySerializer, self.request)
        if query.get("algorithm"):
            versions = versions.filter(algorithm=query["algorithm"])
        if query.get("status"):
            versions = versions.filter(status=query["status"])
        return versions


class RetrainView(APIView):
    """Queue a training run on the Celery training queue, for staff."""

    permission_classes = [IsAdminUser]
    parser_classes = JSON_ONLY

    @extend_schema(
        request=RetrainRequestSerializer,
        responses={
            202: RetrainResponseSerializer,
            **error_responses(400, 401, 403, 415),
        },
    )
    def post(self, request):
        body = RetrainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        algorithms = body.validated_data.get("algorithms")
        task_id = str(uuid.uuid4())
        # The id is chosen here so that it can be returned before the commit
        # after which the task is sent.
        transaction.on_commit(
            lambda: train_models_task.apply_async(args=[algorithms], task_id=task_id)
        )
        data = {"task_id": task_id, "algorithms": algorithms}
        return Response(
            RetrainResponseSerializer(data).data, status=status.HTTP_202_ACCEPTED
        )


class TrainingStatusView(APIView):
    """Runs in training, the latest finished runs, and a queued task's state."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[TrainingStatusQuerySerializer],
        responses={200: TrainingStatusSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        query = validated_query(TrainingStatusQuerySerializer, request)
        training = ModelVersion.objects.filter(status=ModelStatus.TRAINING)
        finished = ModelVersion.objects.filter(
            status__in=[ModelStatus.READY, ModelStatus.FAILED, ModelStatus.REJECTED]
        )
        data = {
            "training": training[:RECENT_RUNS],
            "recent": finished[:RECENT_RUNS],
            "task": task_state(query.get("task_id")),
        }
        return Response(TrainingStatusSerializer(data).data)


def task_state(task_id: str | None) -> dict | None:
    """Return the Celery state of a task, when a result backend stores it."""
    if not task_id:
        return None
    if not settings.CELERY_RESULT_BACKEND or settings.CELERY_TASK_ALWAYS_EAGER:
        return {"id": task_id, "state": None}
    return {"id": task_id, "state": AsyncResult(task_id).state}
