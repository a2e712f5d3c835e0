"""Every API endpoint, called as four kinds of client, against a rule table.

The routes come from the resolved URL configuration, so an endpoint added
later without a rule in RULES makes test_every_api_route_has_a_rule fail,
and so do its cases in test_endpoint_answers_as_expected. To add an
endpoint, add one line per HTTP method to RULES; if its route has a
parameter other than those in PARAMETERS, add a way to fill it there.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.consent import record_consent
from accounts.models import ConsentSource, Purpose, User
from accounts.roles import PRIVACY_OFFICER

OK = HTTPStatus.OK
UNAUTHORIZED = HTTPStatus.UNAUTHORIZED
FORBIDDEN = HTTPStatus.FORBIDDEN
NOT_FOUND = HTTPStatus.NOT_FOUND
KINDS = ["anonymous", "user", "other_user", "staff"]
IGNORED_METHODS = {"head", "options", "trace"}


@dataclass(frozen=True)
class Rule:
    """The expected status per kind of client, and the request body if any.

    user is the owner of the data a route names (for /me/ routes, any
    signed-in user), other_user a different signed-in user, staff a staff
    member in the privacy officer group.
    """

    anonymous: int
    user: int
    other_user: int
    staff: int
    body: dict = field(default_factory=dict)


def signed_in_only(body: dict | None = None) -> Rule:
    return Rule(UNAUTHORIZED, OK, OK, OK, body or {})


PUBLIC = Rule(OK, OK, OK, OK)
OWN_OR_STAFF = Rule(UNAUTHORIZED, OK, NOT_FOUND, OK)
PRIVACY_STAFF_ONLY = Rule(UNAUTHORIZED, FORBIDDEN, FORBIDDEN, OK)

# "METHOD route" -> rule, with routes as Django prints them.
RULES: dict[str, Rule] = {
    "GET api/v1/me/recommendations/": signed_in_only(),
    "GET api/v1/me/consents/": signed_in_only(),
    "PUT api/v1/me/consents/": signed_in_only(
        {"personalization": False, "email": False, "analytics": False}
    ),
    "GET api/v1/me/export/": signed_in_only(),
    "POST api/v1/me/erase/": signed_in_only({"confirm": True}),
    "GET api/v1/users/<int:user_id>/consents/": OWN_OR_STAFF,
    "GET api/v1/privacy/erasures/": PRIVACY_STAFF_ONLY,
    # The schema describes the API and contains no user data.
    "GET api/schema/": PUBLIC,
    "GET api/docs/": PUBLIC,
}


@dataclass
class World:
    """The users every case runs against; owner is the one a route names."""

    owner: User
    other: User
    staff: User

    def client(self, kind: str) -> APIClient:
        client = APIClient()
        users = {"user": self.owner, "other_user": self.other, "staff": self.staff}
        if kind != "anonymous":
            client.force_authenticate(users[kind])
        return client


# Route parameter name -> its value in a case.
PARAMETERS: dict[str, Callable[[World], object]] = {
    "user_id": lambda world: world.owner.pk,
}


def walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        else:
            yield route, pattern


def view_methods(pattern: URLPattern) -> list[str]:
    """Return the HTTP methods a view handles, from DRF or Django metadata."""
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(method.upper() for method in actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return ["GET"]
    return sorted(
        name.upper()
        for name in view_class.http_method_names
        if name not in IGNORED_METHODS and hasattr(view_class, name)
    )


def api_endpoints() -> dict[str, tuple[str, str]]:
    """Map "METHOD route" to (method, route) for every route under api/."""
    endpoints = {}
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/"):
            for method in view_methods(pattern):
                endpoints[f"{method} {route}"] = (method, route)
    return endpoints


ENDPOINTS = api_endpoints()


def build_path(route: str, world: World) -> str:
    """Fill the route's <converter:name> parameters from PARAMETERS."""
    path = route
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1 : end].split(":")[-1]
        if name not in PARAMETERS:
            pytest.fail(
                f"Route {route!r} has the parameter {name!r}, which PARAMETERS "
                "in tests/test_authorization.py does not know how to fill."
            )
        path = path[:start] + str(PARAMETERS[name](world)) + path[end + 1 :]
    return "/" + path


@pytest.fixture
def world(db) -> World:
    cache.clear()
    owner = User.objects.create_user("owner-5f1c")
    record_consent(owner, Purpose.EMAIL, True, ConsentSource.API)
    other = User.objects.create_user("other-user")
    staff = User.objects.create_user("staff-member", is_staff=True)
    staff.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    yield World(owner, other, staff)
    cache.clear()


def test_every_api_route_has_a_rule():
    missing = sorted(set(ENDPOINTS) - set(RULES))

    assert not missing, (
        f"API endpoints without a rule in RULES of tests/test_authorization.py: "
        f"{missing}. Add the expected status for each kind of client."
    )


def test_every_rule_names_an_existing_route():
    stale = sorted(set(RULES) - set(ENDPOINTS))

    assert not stale, f"Rules for endpoints that no longer exist: {stale}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_endpoint_answers_as_expected(world, endpoint, kind):
    if endpoint not in RULES:
        pytest.fail(f"{endpoint} has no rule in RULES: add one.")
    method, route = ENDPOINTS[endpoint]
    rule = RULES[endpoint]
    path = build_path(route, world)

    send = getattr(world.client(kind), method.lower())
    response = send(path, rule.body, format="json") if rule.body else send(path)

    assert response.status_code == getattr(rule, kind), (
        f"{endpoint} as {kind} answered {response.status_code}"
    )
    if kind == "other_user":
        assert world.owner.username.encode() not in response.content
