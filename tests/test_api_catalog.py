"""Catalog endpoints: reading, filtering, paging and writing items."""

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Category, Course, Item, ItemKind, Post, Product, Tag

URL = "/api/v1/items/"


def make_items(count: int, category: Category, tag: Tag, start: int = 0) -> list[Item]:
    """Create items titled "Item 000" on, cycling product, course and post."""
    items = []
    for i in range(start, start + count):
        kind = [ItemKind.PRODUCT, ItemKind.COURSE, ItemKind.POST][i % 3]
        item = Item.objects.create(kind=kind, title=f"Item {i:03d}")
        item.categories.add(category)
        item.tags.add(tag)
        subtype = {ItemKind.PRODUCT: Product, ItemKind.COURSE: Course}.get(kind, Post)
        subtype.objects.create(item=item)
        items.append(item)
    return items


@pytest.fixture
def category(db):
    return Category.objects.create(name="Books", slug="books")


@pytest.fixture
def tag(db):
    return Tag.objects.create(name="New", slug="new")


@pytest.fixture
def writer(db):
    """A service account with the catalog permissions and a token."""
    user = User.objects.create_user("shop-backend")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_item", "change_item"])
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user)}")
    return client


@pytest.fixture
def reader(db):
    user = User.objects.create_user("reader")
    client = APIClient()
    client.force_authenticate(user)
    return client


def product_body(category: Category, **fields) -> dict:
    return {
        "type": "product",
        "title": "Kettle",
        "categories": [category.slug],
        "product": {"price": "19.90", "sku": "K-1"},
        **fields,
    }


def test_anonymous_lists_items(category, tag):
    make_items(3, category, tag)

    response = APIClient().get(URL)

    assert response.status_code == HTTPStatus.OK
    assert [item["title"] for item in response.json()["results"]] == [
        "Item 000",
        "Item 001",
        "Item 002",
    ]


def test_item_detail_has_subtype_fields(category, tag):
    item = make_items(1, category, tag)[0]
    Product.objects.filter(item=item).update(price=Decimal("5.50"))

    data = APIClient().get(f"{URL}{item.pk}/").json()

    assert data["type"] == "product"
    assert data["product"]["price"] == "5.50"
    assert data["course"] is None
    assert data["categories"] == ["books"]
    assert data["tags"] == ["new"]


def test_unknown_item_is_404_in_error_format(db):
    response = APIClient().get(f"{URL}999999/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=course", ["Item 001", "Item 004"]),
        ("category=books", ["Item 000", "Item 001", "Item 002"]),
        ("tag=sale", ["Item 003", "Item 004", "Item 005"]),
        ("active=false", ["Item 005"]),
        ("search=EM 001", ["Item 001"]),
        ("ordering=-title&page_size=2", ["Item 005", "Item 004"]),
    ],
)
def test_list_filters(category, tag, query, expected):
    make_items(3, category, tag)
    tools = Category.objects.create(name="Tools", slug="tools")
    sale = Tag.objects.create(name="Sale", slug="sale")
    make_items(3, tools, sale, start=3)
    Item.objects.filter(title="Item 005").update(is_active=False)

    response = APIClient().get(f"{URL}?{query}")

    assert [item["title"] for item in response.json()["results"]] == expected


def test_invalid_filter_names_the_parameter(db):
    response = APIClient().get(f"{URL}?type=boat")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == "type"


def test_cursor_pagination_walks_all_items(category, tag):
    make_items(7, category, tag)
    client = APIClient()

    titles, url = [], f"{URL}?page_size=3"
    while url:
        page = client.get(url).json()
        titles += [item["title"] for item in page["results"]]
        url = page["next"]

    assert titles == [f"Item {i:03d}" for i in range(7)]


@pytest.mark.parametrize("count", [3, 30])
def test_item_list_query_count_is_constant(
    category, tag, count, django_assert_num_queries
):
    make_items(count, category, tag)
    client = APIClient()

    # Items with their subtypes in one join, then categories, then tags.
    with django_assert_num_queries(3):
        response = client.get(f"{URL}?page_size=100")

    assert len(response.json()["results"]) == count


def test_writer_creates_product(writer, category):
    response = writer.post(URL, product_body(category), format="json")

    assert response.status_code == HTTPStatus.CREATED
    item = Item.objects.get(pk=response.json()["id"])
    assert item.product.price == Decimal("19.90")
    assert list(item.categories.values_list("slug", flat=True)) == ["books"]


def test_staff_creates_course(db, category):
    staff = User.objects.create_user("staff", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    body = {"type": "course", "title": "Django", "course": {"level": "advanced"}}

    response = client.post(URL, body, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert Course.objects.get().level == "advanced"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"product": {"price": "-1"}}, "product.price"),
        ({"product": {"price": "cheap"}}, "product.price"),
        ({"course": {"level": "beginner"}}, "course"),
        ({"type": "boat"}, "type"),
        ({"title": ""}, "title"),
        ({"categories": ["no-such-category"]}, "categories"),
    ],
)
def test_create_errors_name_the_field(writer, category, fields, field):
    response = writer.post(URL, product_body(category, **fields), format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == field
    assert Item.objects.count() == 0


def test_course_level_error_names_nested_field(writer):
    body = {"type": "course", "title": "C", "course": {"level": "guru"}}

    response = writer.post(URL, body, format="json")

    assert response.json()["errors"][0]["field"] == "course.level"


def test_update_changes_subtype_fields(writer, category):
    item_id = writer.post(URL, product_body(category), format="json").json()["id"]

    response = writer.patch(
        f"{URL}{item_id}/", {"product": {"price": "9.00"}}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert Product.objects.get(pk=item_id).price == Decimal("9.00")


def test_update_cannot_change_type(writer, category):
    item_id = writer.post(URL, product_body(category), format="json").json()["id"]

    response = writer.patch(f"{URL}{item_id}/", {"type": "post"}, format="json")

    assert response.json()["errors"][0]["field"] == "type"


def test_delete_deactivates_item(writer, category):
    item_id = writer.post(URL, product_body(category), format="json").json()["id"]

    response = writer.delete(f"{URL}{item_id}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert Item.objects.get(pk=item_id).is_active is False


def test_reader_cannot_write(reader, category):
    response = reader.post(URL, product_body(category), format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["errors"][0]["code"] == "permission_denied"


def test_anonymous_write_is_401(category):
    response = APIClient().post(URL, product_body(category), format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_method_not_allowed_in_error_format(reader):
    response = reader.put("/api/v1/ping/", {}, format="json")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
