"""Profiles, training and serving follow the consent current when they run."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.consent import record_consent
from accounts.models import ConsentSource, Profile, Purpose, User
from recommendations.dataset import load_interaction_data
from recommendations.profiles import build_profiles
from recommendations.services import Source, recommend


@pytest.fixture
def withdrawn_user(trained_slice):
    """An imported user with built features who then withdrew personalization."""
    user = User.objects.get(external_id="movielens:3")
    assert Profile.objects.get(user=user).features["interactions"] > 0
    record_consent(user, Purpose.PERSONALIZATION, False, ConsentSource.PREFERENCES)
    return user


@pytest.mark.django_db
def test_next_profile_build_clears_withdrawn_features(withdrawn_user):
    build_profiles()

    profile = Profile.objects.get(user=withdrawn_user)
    assert profile.features == {}


@pytest.mark.django_db
def test_training_snapshot_leaves_out_withdrawn_user(withdrawn_user):
    snapshot = load_interaction_data()

    assert withdrawn_user.pk not in snapshot.user_ids
    assert len(snapshot.user_ids) == User.objects.count() - 1


@pytest.mark.django_db
def test_withdrawn_and_anonymous_get_the_same_popular_list(withdrawn_user):
    withdrawn = recommend(withdrawn_user, 10)
    anonymous = recommend(AnonymousUser(), 10)

    assert [r.item.pk for r in withdrawn] == [r.item.pk for r in anonymous]
    assert {r.source for r in withdrawn} == {Source.POPULAR}
    assert not withdrawn.personalized
