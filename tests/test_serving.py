"""The serving function, the recommendations API and the for-you page."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.consent import record_consent
from accounts.models import ConsentSource, Purpose, User
from recommendations.models import Interaction
from recommendations.services import Source, recommend


@pytest.fixture
def rated_user(trained_slice):
    return User.objects.get(external_id="movielens:1")


@pytest.mark.django_db
def test_recommend_returns_unseen_items_with_reasons(rated_user):
    result = recommend(rated_user, 10)

    seen = set(
        Interaction.objects.filter(user=rated_user).values_list("item_id", flat=True)
    )
    assert len(result) == 10
    assert result.personalized
    assert not seen & {rec.item.pk for rec in result}
    assert all(rec.source == Source.PERSONAL for rec in result)
    assert all(rec.reason.startswith("Because you rated ") for rec in result)
    serving = f"{settings.ATTUNE_SERVING_ALGORITHM}:"
    assert all(rec.model_version.startswith(serving) for rec in result)


@pytest.mark.django_db
def test_recommend_orders_by_score(rated_user):
    scores = [rec.score for rec in recommend(rated_user, 10)]

    assert scores == sorted(scores, reverse=True)


@pytest.mark.django_db
def test_anonymous_visitor_gets_popular_items(trained_slice):
    result = recommend(AnonymousUser(), 5)

    assert len(result) == 5
    assert not result.personalized
    assert {rec.source for rec in result} == {Source.POPULAR}
    assert {rec.reason for rec in result} == {"Popular right now"}


@pytest.mark.django_db
def test_withdrawn_personalization_gets_non_personal_list(rated_user):
    anonymous = [rec.item.pk for rec in recommend(AnonymousUser(), 10)]
    record_consent(rated_user, Purpose.PERSONALIZATION, False, ConsentSource.API)

    result = recommend(rated_user, 10)

    assert not result.personalized
    assert [rec.item.pk for rec in result] == anonymous


@pytest.mark.django_db
def test_new_user_with_history_is_scored_on_demand(trained_slice, django_user_model):
    user = django_user_model.objects.create_user("newcomer")
    record_consent(user, Purpose.PERSONALIZATION, True, ConsentSource.SIGNUP)
    rated = User.objects.get(external_id="movielens:1").interactions.first()
    Interaction.objects.create(
        user=user,
        item=rated.item,
        kind="rating",
        value=5,
        occurred_at=rated.occurred_at,
        event_id="test:newcomer:1",
    )

    result = recommend(user, 5)

    assert result.personalized
    assert rated.item.pk not in {rec.item.pk for rec in result}
    assert result.items[0].reason == f"Because you rated {rated.item.title}"


@pytest.mark.django_db
def test_more_items_than_exist_returns_what_exists(rated_user):
    result = recommend(rated_user, 100)

    ids = [rec.item.pk for rec in result]
    assert len(ids) == len(set(ids))
    assert len(ids) <= 100


@pytest.mark.django_db
def test_recommend_rejects_n_out_of_range(rated_user):
    with pytest.raises(ValueError, match="n=0 is out of range"):
        recommend(rated_user, 0)


@pytest.mark.django_db
def test_category_filter_keeps_matching_items(rated_user):
    result = recommend(rated_user, 5, category="comedy")

    assert len(result) == 5
    for rec in result:
        assert rec.item.categories.filter(slug="comedy").exists()


@pytest.mark.django_db
def test_api_lists_recommendations_for_token_user(rated_user, api_client):
    token = Token.objects.create(user=rated_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.get("/api/v1/me/recommendations/?n=10")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["personalized"] is True
    assert len(body["items"]) == 10
    first = body["items"][0]
    assert set(first) >= {"item_id", "type", "title", "score", "reason"}
    assert first["type"] == "product"
    assert first["model_version"].startswith(f"{settings.ATTUNE_SERVING_ALGORITHM}:")


@pytest.mark.django_db
def test_api_accepts_session_auth(rated_user, api_client):
    api_client.force_login(rated_user)

    response = api_client.get("/api/v1/me/recommendations/?n=3")

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["items"]) == 3


@pytest.mark.django_db
def test_api_anonymous_gets_401(api_client):
    response = api_client.get("/api/v1/me/recommendations/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_api_rejects_invalid_n(rated_user, api_client):
    api_client.force_login(rated_user)

    response = api_client.get("/api/v1/me/recommendations/?n=abc")

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_for_you_page_shows_ten_unseen_items(rated_user, client):
    client.force_login(rated_user)

    response = client.get(reverse("for-you"))

    assert response.status_code == HTTPStatus.OK
    recommendations = response.context["result"].items
    assert len(recommendations) == 10
    html = response.content.decode()
    assert recommendations[0].item.title in html
    assert "Because you rated" in html


@pytest.mark.django_db
def test_for_you_page_redirects_anonymous_to_sign_in(client):
    response = client.get(reverse("for-you"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_sign_in_and_out(rated_user, client):
    rated_user.set_password("a-long-test-password")
    rated_user.save()

    response = client.post(
        reverse("login"),
        {"username": rated_user.username, "password": "a-long-test-password"},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert client.get(reverse("for-you")).status_code == HTTPStatus.OK

    client.post(reverse("logout"))
    assert client.get(reverse("for-you")).status_code == HTTPStatus.FOUND


@pytest.mark.django_db
def test_narrow_category_still_fills_n(rated_user):
    """A filter matching items beyond the candidate lists still returns n."""
    from catalog.models import Item

    matching = Item.objects.filter(categories__slug="childrens", is_active=True)
    unseen = matching.exclude(
        pk__in=Interaction.objects.filter(user=rated_user).values("item_id")
    ).count()

    result = recommend(rated_user, 30, category="childrens")

    assert len(result) == min(30, unseen)
    assert len({rec.item.pk for rec in result}) == len(result)
    for rec in result:
        assert rec.item.categories.filter(slug="childrens").exists()


@pytest.mark.django_db
def test_api_rejects_unknown_category(rated_user, api_client):
    api_client.force_login(rated_user)

    response = api_client.get("/api/v1/me/recommendations/?category=no-such-genre")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    [error] = response.json()["errors"]
    assert error["field"] == "category"
    assert "'no-such-genre'" in error["message"]


@pytest.mark.django_db
def test_api_docs_serve_swagger_locally(client):
    response = client.get("/api/docs/")

    assert response.status_code == HTTPStatus.OK
    assert b"cdn.jsdelivr.net" not in response.content
    assert b"swagger-ui" in response.content
