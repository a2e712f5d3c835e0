"""Pieces every API view shares: the error schema and a no-op endpoint."""

from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
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


class APICursorPagination(CursorPagination):
    """Cursor pagination whose bad cursor is a 400 naming the parameter."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        "Invalid cursor: use a next or previous link."
                    ]
                }
            ) from error


# The API reads JSON only, so that every body has one documented shape.
JSON_ONLY = [JSONParser]


def error_body(code: str, message: str) -> dict:
    return {"errors": [{"code": code, "message": message, "field": None}]}


def not_found(request, exception=None):
    """Return a 404 in the API's error format for unknown /api/ paths."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    message = f"No API endpoint or object at {request.path}: see /api/docs/."
    return JsonResponse(error_body("not_found", message), status=404)


def server_error(request):
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    message = "Internal server error: the failure was logged; retry later."
    return JsonResponse(error_body("server_error", message), status=500)
