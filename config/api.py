"""Pieces every API view shares: the error schema and a no-op endpoint."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

ERROR_DESCRIPTIONS = {
    400: "Invalid request: each entry names the field and the reason.",
    401: "Missing or invalid credentials: send a token or a session cookie.",
    403: "Authenticated, but not allowed to do this.",
    404: "Not found, or not visible to the caller.",
    405: "Method not allowed on this path.",
    415: "Unsupported media type: send application/json.",
    429: "Too many requests: retry after the Retry-After header's seconds.",
}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable, such as 'invalid'")
    message = serializers.CharField()
    field = serializers.CharField(
        allow_null=True, help_text="dotted path of the field at fault, or null"
    )


class ErrorListSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Return schema responses for the given error statuses, all in one format."""
    return {
        code: OpenApiResponse(ErrorListSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


class PingSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


class PingView(APIView):
    """Authenticated no-op, the baseline the load benchmark compares against."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: PingSerializer, **error_responses(401, 403)},
    )
    def get(self, request):
        return Response({"ok": True})
