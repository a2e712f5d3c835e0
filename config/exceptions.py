"""One error format for every API response that is not a success.

Every error body is {"errors": [{"code": ..., "message": ..., "field": ...}]}:
validation errors list one entry per problem with the field's dotted path
(for example "events[3].time"), and every other error (401, 403, 404, 405,
415, 429) has one entry whose field is null.
"""

import logging

from rest_framework.exceptions import ErrorDetail
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    """Let DRF build the response, then rewrite its body in the one format."""
    response = exception_handler(exc, context)
    if response is None:
        return None

    detail = getattr(exc, "detail", response.data)
    response.data = {"errors": flatten_errors(detail)}
    if response.status_code >= 500:
        logger.error("API error %s on %s", response.status_code, context.get("view"))
    return response


def flatten_errors(detail, field: str | None = None) -> list[dict]:
    """Turn DRF's nested error detail into a flat list of code, message, field."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            errors += flatten_errors(value, child_field(field, key))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            errors += flatten_errors(
                value, f"{field or ''}[{index}]" if nested else field
            )
        return errors
    code = detail.code if isinstance(detail, ErrorDetail) else "error"
    return [{"code": code, "message": str(detail), "field": field}]


def child_field(parent: str | None, key: str) -> str | None:
    if key in ("non_field_errors", "detail"):
        return parent
    return f"{parent}.{key}" if parent else key
