"""The batch form of the serving function: same lists, few queries."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.consent import record_consent
from accounts.models import ConsentSource, Profile, Purpose, User
from catalog.models import Category, Item, ItemKind
from recommendations import training
from recommendations.models import Interaction
from recommendations.services import MAX_N, Source, recommend, recommend_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(movielens_slice, settings):
    """Popularity with groups, content and item kNN active, lists precomputed.

    One new item has no interactions, so personal lists can hold a
    content-based candidate too.
    """
    settings.ATTUNE_SERVING_ALGORITHM = "item_knn"
    model = Item.objects.order_by("pk").first()
    new_item = Item.objects.create(kind=ItemKind.PRODUCT, title=f"{model.title} II")
    new_item.categories.set(Category.objects.filter(items=model))
    training.train("popularity", {"min_group_size": 1})
    training.train("content")
    training.precompute(training.train("item_knn"))


def consenting_user(username: str, age: int, gender: str, history=()) -> User:
    user = User.objects.create_user(username=username, password="x")
    Profile.objects.create(user=user, age=age, gender=gender)
    record_consent(user, Purpose.PERSONALIZATION, True, ConsentSource.SIGNUP)
    for item in history:
        Interaction.objects.create(
            user=user,
            item=item,
            kind="view",
            occurred_at=timezone.now(),
            event_id=f"{username}:{item.pk}",
        )
    return user


@pytest.fixture
def mixed_users(served):
    """Every serving path at once, in an order that mixes them."""
    rated = list(User.objects.filter(external_id__startswith="movielens:")[:4])
    withdrawn = rated[3]
    record_consent(withdrawn, Purpose.PERSONALIZATION, False, ConsentSource.API)
    # Not in the trained model: scored on demand from this history.
    newcomer = consenting_user(
        "newcomer", 25, "F", history=Item.objects.order_by("pk")[:5]
    )
    # No history at all: popularity within the demographic group.
    blank = consenting_user("blank", 52, "M")
    return [rated[0], None, newcomer, rated[1], withdrawn, blank, AnonymousUser()]


def summary(result):
    return [
        (rec.item.pk, rec.reason, rec.source, rec.model_version, rec.score)
        for rec in result
    ]


@pytest.mark.parametrize(
    ("kind", "category"),
    [(None, None), (ItemKind.PRODUCT, None), (None, "comedy"), (None, "childrens")],
)
def test_batch_lists_equal_single_lists(mixed_users, kind, category):
    batch = recommend_many(mixed_users, 10, kind=kind, category=category)

    single = [recommend(user, 10, kind=kind, category=category) for user in mixed_users]
    assert [summary(result) for result in batch] == [
        summary(result) for result in single
    ]
    assert [r.personalized for r in batch] == [r.personalized for r in single]


def test_batch_covers_every_path(mixed_users):
    results = recommend_many(mixed_users, 10)

    sources = [{rec.source for rec in result} for result in results]
    assert Source.PERSONAL in sources[0]
    assert sources[1] == {Source.POPULAR}
    assert Source.PERSONAL in sources[2]
    assert sources[4] == {Source.POPULAR}
    assert sources[5] == {Source.POPULAR_GROUP}
    assert any(Source.NEW_ITEM in found for found in sources)


def test_exclude_keeps_lists_full(mixed_users):
    first = recommend_many(mixed_users, 10)
    exclude = {
        user.pk: {rec.item.pk for rec in result}
        for user, result in zip(mixed_users, first, strict=True)
        if user is not None and user.pk is not None
    }

    second = recommend_many(mixed_users, 10, exclude=exclude)

    for user, result in zip(mixed_users, second, strict=True):
        assert len(result) == 10
        left_out = exclude.get(getattr(user, "pk", None), set())
        assert not left_out & {rec.item.pk for rec in result}
    # Users not named in exclude get their usual list.
    assert summary(second[1]) == summary(first[1])


@pytest.mark.parametrize("category", [None, "childrens"])
def test_seen_items_never_come_back(mixed_users, category):
    # Seen after the lists were precomputed, so still in the stored list.
    top = recommend(mixed_users[0], 1).items[0].item
    Interaction.objects.create(
        user=mixed_users[0],
        item=top,
        kind="purchase",
        occurred_at=timezone.now(),
        event_id="late-purchase",
    )

    results = recommend_many(mixed_users, 30, category=category)

    # The consenting users; the others are not profiled, so nothing is left out.
    for position in (0, 2, 3, 5):
        user, result = mixed_users[position], results[position]
        seen = set(
            Interaction.objects.filter(user=user).values_list("item_id", flat=True)
        )
        assert not seen & {rec.item.pk for rec in result}
    assert top.pk not in {rec.item.pk for rec in results[0]}


def query_count(users) -> int:
    with CaptureQueriesContext(connection) as queries:
        recommend_many(users, 10, kind=ItemKind.PRODUCT, category="drama")
    return len(queries)


def test_query_count_ignores_user_count(served):
    users = list(User.objects.filter(external_id__startswith="movielens:"))
    assert len(users) >= 30

    assert query_count(users[:3]) == query_count(users[:30])


def test_out_of_range_n_rejected(served):
    with pytest.raises(ValueError, match="n=0 is out of range"):
        recommend_many([None], 0)
    with pytest.raises(ValueError, match=f"n={MAX_N + 1} is out of range"):
        recommend_many([None], MAX_N + 1)


def test_no_users_gives_no_lists(served):
    assert recommend_many([], 10) == []


def test_neighbours_leave_list_unchanged(served):
    # A consenting user without a profile shares group None with visitors,
    # and their long history must not change what a visitor gets.
    heavy = consenting_user(
        "heavy", 30, "M", history=Item.objects.order_by("-pk")[:200]
    )
    Profile.objects.filter(user=heavy).delete()
    visitor = AnonymousUser()

    for category in Category.objects.values_list("slug", flat=True):
        for n in (10, MAX_N):
            alone = recommend(visitor, n, category=category)
            batched = recommend_many([visitor, heavy], n, category=category)[0]
            assert summary(batched) == summary(alone), (category, n)


def test_inactive_popular_item_keeps_list_full(served):
    top = recommend(None, 1).items[0].item
    Item.objects.filter(pk=top.pk).update(is_active=False)

    result = recommend(None, MAX_N)

    assert len(result) == MAX_N
    assert top.pk not in {rec.item.pk for rec in result}


def available_ids(user, personal: bool) -> set[int]:
    """Return the active items a list may show: unseen ones on the personal path."""
    items = Item.objects.filter(is_active=True)
    if personal:
        seen = Interaction.objects.filter(user=user).values_list("item_id", flat=True)
        items = items.exclude(pk__in=list(seen))
    return set(items.values_list("pk", flat=True))


@pytest.mark.parametrize("personal", [True, False])
def test_exclude_keeps_long_lists_full(served, personal):
    if personal:
        user = User.objects.get(external_id="movielens:1")
    else:
        user = User.objects.create_user(username="private", password="x")
    first = recommend(user, MAX_N)
    exclude = {user.pk: {rec.item.pk for rec in first}}

    second = recommend_many([user], MAX_N, exclude=exclude)[0]

    left = available_ids(user, personal) - exclude[user.pk]
    assert len(second) == min(MAX_N, len(left))
    assert not exclude[user.pk] & {rec.item.pk for rec in second}
