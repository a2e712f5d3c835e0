"""Cold start: new users by consent and demographics, new items by content."""

import pytest

from accounts.consent import record_consent
from accounts.models import ConsentSource, Profile, Purpose, User
from catalog.models import Category, Item, ItemKind
from recommendations import training
from recommendations.models import Interaction
from recommendations.services import Source, recommend

pytestmark = pytest.mark.django_db


def new_user(username: str, consent: bool, age: int = 30, gender: str = "M"):
    user = User.objects.create_user(username=username, password="x")
    Profile.objects.create(user=user, age=age, gender=gender)
    if consent:
        record_consent(user, Purpose.PERSONALIZATION, True, ConsentSource.SIGNUP)
    return user


@pytest.fixture
def served_slice(movielens_slice, settings):
    """The slice with popularity, content and item-kNN active, lists precomputed.

    item_knn serves here because it trains in a fraction of the ranker's time.
    """
    settings.ATTUNE_SERVING_ALGORITHM = "item_knn"
    training.train("popularity")
    training.train("content")
    training.precompute(training.train("item_knn"))


@pytest.fixture
def group_popularity(movielens_slice):
    """Popularity with demographic groups small enough for the 40-user slice."""
    training.train("popularity", {"min_group_size": 1})


def test_consenting_new_user_gets_group_popularity(group_popularity):
    user = new_user("newcomer", consent=True)

    result = recommend(user, 10)

    assert len(result) == 10
    assert {item.source for item in result} == {Source.POPULAR_GROUP}


def test_group_popularity_differs_by_group(group_popularity):
    young = recommend(new_user("young", consent=True, age=20, gender="F"), 10)
    older = recommend(new_user("older", consent=True, age=50, gender="M"), 10)

    assert [i.item.pk for i in young] != [i.item.pk for i in older]


def test_new_user_without_consent_gets_global_popularity(group_popularity):
    user = new_user("private", consent=False)

    result = recommend(user, 10)

    assert {item.source for item in result} == {Source.POPULAR}
    assert not result.personalized


def test_anonymous_visitor_gets_global_popularity(group_popularity):
    result = recommend(None, 5)

    assert {item.source for item in result} == {Source.POPULAR}


def test_new_item_is_recommended_through_content(served_slice):
    user = User.objects.get(external_id="movielens:1")
    seen = Interaction.objects.filter(user=user).values_list("item_id", flat=True)
    model = Item.objects.filter(pk__in=list(seen)).order_by("pk").first()
    new_item = Item.objects.create(kind=ItemKind.PRODUCT, title=f"{model.title} II")
    new_item.categories.set(Category.objects.filter(items=model))
    training.train("popularity")
    training.train("content")

    result = recommend(user, 10)

    by_item = {entry.item.pk: entry for entry in result}
    assert new_item.pk in by_item
    assert by_item[new_item.pk].source == Source.NEW_ITEM


def test_known_items_keep_the_personal_path(served_slice):
    user = User.objects.get(external_id="movielens:1")

    result = recommend(user, 10)

    assert result.personalized
    assert Source.PERSONAL in {item.source for item in result}
