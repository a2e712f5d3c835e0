"""The OpenAPI schema: valid, free of warnings, and kept by every endpoint."""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from accounts.models import User
from catalog.models import Category, Item, ItemKind, Product
from config.wsgi import application


def test_schema_has_no_warnings(tmp_path):
    """drf-spectacular's --fail-on-warn turns every warning into an error."""
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert "/api/v1/events/" in target.read_text()


# The live schema, read through the WSGI application as a client reads it.
# NOTE: schemathesis.pytest.from_fixture would load it per test, but with
# schemathesis 4.32 and pytest 9 it fails on a removed pytest attribute
# (Function._nodeid), so the schema is loaded once at import.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def keep_test_connection():
    """Stop each WSGI request from closing the test's database connection.

    Django's test client disconnects these handlers too; without that, the
    first request would close the connection holding the test transaction.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def staff_token(db, keep_test_connection):
    """A staff token, so that staff-only operations are exercised too."""
    books = Category.objects.create(name="Books", slug="books")
    for i in range(3):
        item = Item.objects.create(kind=ItemKind.PRODUCT, title=f"Book {i}")
        item.categories.add(books)
        Product.objects.create(item=item)
    staff = User.objects.create_user("schema-staff", is_staff=True)
    return Token.objects.create(user=staff).key


API_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_keeps_its_schema(case, staff_token):
    """No 5xx, no undocumented status and no body that breaks its schema."""
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"}, checks=API_CHECKS
    )
