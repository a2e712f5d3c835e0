"""Recommendation, similar-item and model-operation endpoints."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.consent import record_consent
from accounts.models import ConsentSource, Purpose, User
from catalog.models import Category, Item, ItemKind
from recommendations import response_cache
from recommendations.models import ModelStatus, ModelVersion
from recommendations.services import SIMILAR_FALLBACK, SIMILAR_KNN
from recommendations.tasks import train_models_task

ME_URL = "/api/v1/me/recommendations/"


@pytest.fixture(autouse=True)
def empty_cache():
    """Start every test without cached lists, since ids repeat across tests."""
    cache.clear()
    response_cache.clear_local_cache()
    yield
    cache.clear()
    response_cache.clear_local_cache()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def member(trained_slice):
    """An imported MovieLens user, who granted personalization at import."""
    return User.objects.filter(external_id__startswith="movielens:").order_by("pk")[0]


@pytest.fixture
def staff(db):
    return User.objects.create_user("staff", is_staff=True)


@pytest.mark.slow
def test_my_recommendations_are_personal(member):
    data = client_for(member).get(f"{ME_URL}?n=5").json()

    assert data["personalized"] is True
    assert len(data["items"]) == 5
    first = data["items"][0]
    assert first["source"] == "personal"
    assert first["model_version"].startswith("item_knn:")
    assert first["reason"]
    assert isinstance(first["score"], float)


@pytest.mark.slow
def test_withdrawn_consent_takes_effect_next_request(member):
    client = client_for(member)
    assert client.get(ME_URL).json()["personalized"] is True

    record_consent(member, Purpose.PERSONALIZATION, False, ConsentSource.API)

    data = client.get(ME_URL).json()
    assert data["personalized"] is False
    assert {item["source"] for item in data["items"]} <= {"popular", "popular_in_group"}


@pytest.mark.slow
def test_new_event_refreshes_cached_list(member):
    client = client_for(member)
    first = client.get(f"{ME_URL}?n=3").json()["items"][0]["item_id"]

    client.post(
        "/api/v1/events/",
        {"event_id": "fresh", "item": first, "kind": "view"},
        format="json",
    )

    ids = [item["item_id"] for item in client.get(f"{ME_URL}?n=3").json()["items"]]
    assert first not in ids


@pytest.mark.slow
def test_deactivated_item_leaves_cached_list(member, staff, monkeypatch):
    # Read the catalog generation on every request instead of once a second.
    monkeypatch.setattr(response_cache, "GENERATION_SECONDS", 0)
    client = client_for(member)
    first = client.get(f"{ME_URL}?n=3").json()["items"][0]["item_id"]

    client_for(staff).delete(f"/api/v1/items/{first}/")

    ids = [item["item_id"] for item in client.get(f"{ME_URL}?n=3").json()["items"]]
    assert first not in ids


@pytest.mark.slow
def test_new_model_version_refreshes_cached_list(member):
    client = client_for(member)
    before = client.get(f"{ME_URL}?n=3").json()["items"][0]["model_version"]

    train_models_task(["item_knn"])

    after = client.get(f"{ME_URL}?n=3").json()["items"][0]["model_version"]
    assert after != before


@pytest.mark.slow
def test_type_filter_and_bad_n(member):
    client = client_for(member)

    response = client.get(f"{ME_URL}?n=0")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == "n"
    kinds = {i["type"] for i in client.get(f"{ME_URL}?type=product").json()["items"]}
    assert kinds == {"product"}


@pytest.mark.slow
@pytest.mark.parametrize("n", [3, 30])
def test_my_recommendations_query_count(member, n, django_assert_max_num_queries):
    client = client_for(member)
    client.get(f"{ME_URL}?n=1")  # loads the models into the process cache

    # Cache key state, then recommend(): consent, seen items, precomputed
    # list, profile, items, reasons' titles and verbs. The same number
    # whatever n is.
    with django_assert_max_num_queries(11):
        response = client.get(f"{ME_URL}?n={n}")

    assert len(response.json()["items"]) == n


@pytest.mark.slow
def test_cached_request_needs_few_queries(member, django_assert_num_queries):
    client = client_for(member)
    client.get(f"{ME_URL}?n=10")

    # One query reads the newest consent event, newest event and active
    # models that make up the cache key.
    with django_assert_num_queries(1):
        client.get(f"{ME_URL}?n=10")


@pytest.mark.parametrize("query", ["n=abc", "n=101", "n=-1", "type=boat"])
def test_invalid_query_names_the_parameter(db, query):
    client = client_for(User.objects.create_user("asker"))

    response = client.get(f"{ME_URL}?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


def test_anonymous_my_recommendations_is_401(db):
    response = APIClient().get(ME_URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "not_authenticated"


@pytest.mark.slow
def test_staff_reads_any_users_list(member, staff):
    response = client_for(staff).get(f"/api/v1/users/{member.pk}/recommendations/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["personalized"] is True


@pytest.mark.slow
def test_service_account_reads_any_users_list(member):
    service = User.objects.create_user("crm")
    service.user_permissions.add(
        Permission.objects.get(codename="view_userrecommendations")
    )

    response = client_for(service).get(f"/api/v1/users/{member.pk}/recommendations/")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.slow
def test_other_users_list_is_404_without_permission(member):
    stranger = User.objects.create_user("stranger")

    response = client_for(stranger).get(f"/api/v1/users/{member.pk}/recommendations/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["errors"][0]["code"] == "not_found"


def test_unknown_user_is_404_for_staff(staff):
    response = client_for(staff).get("/api/v1/users/999999/recommendations/")

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.slow
def test_similar_items_come_from_item_knn(trained_slice):
    item = Item.objects.order_by("pk").first()

    data = APIClient().get(f"/api/v1/items/{item.pk}/similar/?n=5").json()

    assert data["source"] == SIMILAR_KNN
    assert len(data["items"]) == 5
    assert item.pk not in [entry["item_id"] for entry in data["items"]]
    assert data["items"][0]["model_version"].startswith("item_knn:")


@pytest.mark.slow
@pytest.mark.parametrize("n", [3, 30])
def test_similar_items_query_count(trained_slice, n, django_assert_max_num_queries):
    item = Item.objects.order_by("pk").first()
    client = APIClient()
    client.get(f"/api/v1/items/{item.pk}/similar/?n=1")

    # Item, active version, then the chosen items.
    with django_assert_max_num_queries(3):
        response = client.get(f"/api/v1/items/{item.pk}/similar/?n={n}")

    assert len(response.json()["items"]) == n


def test_similar_items_fall_back_to_same_category(db):
    books = Category.objects.create(name="Books", slug="books")
    items = [
        Item.objects.create(kind=ItemKind.PRODUCT, title=f"B{i}") for i in range(3)
    ]
    for item in items:
        item.categories.add(books)
    Item.objects.create(kind=ItemKind.PRODUCT, title="Elsewhere")

    data = APIClient().get(f"/api/v1/items/{items[0].pk}/similar/").json()

    assert data["source"] == SIMILAR_FALLBACK
    assert [entry["item_id"] for entry in data["items"]] == [items[1].pk, items[2].pk]


def test_similar_items_of_unknown_item_is_404(db):
    response = APIClient().get("/api/v1/items/999999/similar/")

    assert response.status_code == HTTPStatus.NOT_FOUND


def make_versions(count: int) -> None:
    ModelVersion.objects.bulk_create(
        ModelVersion(
            algorithm="item_knn", status=ModelStatus.READY, metrics={"ndcg": i}
        )
        for i in range(count)
    )


@pytest.mark.parametrize("count", [3, 30])
def test_model_list_query_count(staff, count, django_assert_num_queries):
    make_versions(count)
    client = client_for(staff)

    with django_assert_num_queries(1):
        response = client.get("/api/v1/models/?status=ready")

    assert len(response.json()["results"]) == min(count, 20)


@pytest.mark.parametrize("count", [3, 30])
def test_training_status_query_count(staff, count, django_assert_num_queries):
    make_versions(count)
    ModelVersion.objects.bulk_create(
        ModelVersion(algorithm="item_knn", status=ModelStatus.TRAINING)
        for _ in range(count)
    )
    client = client_for(staff)

    # Runs in training, then finished runs.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/models/training/")

    assert len(response.json()["recent"]) == min(count, 20)


@pytest.mark.slow
@pytest.mark.parametrize("n", [3, 30])
def test_user_recommendations_query_count(
    member, staff, n, django_assert_max_num_queries
):
    client = client_for(staff)
    url = f"/api/v1/users/{member.pk}/recommendations/"
    client.get(f"{url}?n=1")

    # The user, then recommend()'s queries, whatever n is.
    with django_assert_max_num_queries(11):
        response = client.get(f"{url}?n={n}")

    assert len(response.json()["items"]) == n


def test_model_detail_has_metrics(staff):
    make_versions(1)
    version = ModelVersion.objects.get()

    data = client_for(staff).get(f"/api/v1/models/{version.pk}/").json()

    assert data["metrics"] == {"ndcg": 0}
    assert data["label"] == f"item_knn:{version.pk}"


def test_models_are_staff_only(db):
    user = User.objects.create_user("plain")

    response = client_for(user).get("/api/v1/models/")

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_retrain_queues_task_after_commit(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(staff).post(
            "/api/v1/models/retrain/", {"algorithms": ["popularity"]}, format="json"
        )

    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json()["task_id"]
    assert len(callbacks) == 1


@pytest.mark.slow
def test_retrain_runs_and_status_lists_run(
    movielens_slice, django_capture_on_commit_callbacks
):
    staff = User.objects.create_user("ops", is_staff=True)
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        task_id = client.post(
            "/api/v1/models/retrain/", {"algorithms": ["popularity"]}, format="json"
        ).json()["task_id"]

    data = client.get(f"/api/v1/models/training/?task_id={task_id}").json()

    assert data["recent"][0]["algorithm"] == "popularity"
    assert data["recent"][0]["status"] == "ready"
    assert data["task"]["id"] == task_id


def test_retrain_rejects_unknown_algorithm(staff):
    response = client_for(staff).post(
        "/api/v1/models/retrain/", {"algorithms": ["magic"]}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["field"] == "algorithms"


def test_training_status_lists_runs_in_training(staff):
    ModelVersion.objects.create(algorithm="item_knn", status=ModelStatus.TRAINING)

    data = client_for(staff).get("/api/v1/models/training/").json()

    assert [run["status"] for run in data["training"]] == ["training"]
    assert data["task"] is None


def test_ping_needs_authentication(db):
    assert APIClient().get("/api/v1/ping/").status_code == HTTPStatus.UNAUTHORIZED


def test_ping_with_token(db):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=User.objects.create_user("pinger"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get("/api/v1/ping/").json() == {"ok": True}
