from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.serializers import (
    RecommendationListSerializer,
    RecommendationQuerySerializer,
)
from recommendations.services import recommend


class MyRecommendationsView(APIView):
    """Top-n recommendations for the signed-in user."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "recommendations"

    @extend_schema(
        parameters=[RecommendationQuerySerializer],
        responses=RecommendationListSerializer,
    )
    def get(self, request):
        query = RecommendationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = recommend(
            request.user,
            query.validated_data["n"],
            kind=query.validated_data.get("type"),
            category=query.validated_data.get("category"),
        )
        return Response(RecommendationListSerializer(result).data)
