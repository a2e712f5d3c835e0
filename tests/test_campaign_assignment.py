"""Deterministic assignment to variants and the holdout."""

from collections import Counter

import pytest

from campaigns.assignment import BUCKETS, assign, bucket


def test_same_user_gets_same_bucket():
    assert bucket(7, 12345) == bucket(7, 12345)


def test_bucket_depends_on_campaign():
    differing = sum(bucket(1, user) != bucket(2, user) for user in range(200))
    assert differing > 190


def test_bucket_is_in_range():
    assert all(0 <= bucket(3, user) < BUCKETS for user in range(1000))


def test_assignment_is_repeatable():
    variants = [(10, 1), (11, 1)]
    first = [assign(5, user, 10, variants) for user in range(500)]
    second = [assign(5, user, 10, variants) for user in range(500)]
    assert first == second


def test_holdout_share_matches_percent():
    counts = Counter(assign(9, user, 20, [(1, 1)]) for user in range(20_000))
    assert 0.18 < counts[None] / 20_000 < 0.22


def test_weights_split_the_rest():
    counts = Counter(assign(9, user, 0, [(1, 3), (2, 1)]) for user in range(20_000))
    assert 0.72 < counts[1] / 20_000 < 0.78
    assert 0.22 < counts[2] / 20_000 < 0.28


def test_zero_holdout_assigns_everyone():
    assert all(assign(4, user, 0, [(1, 1)]) == 1 for user in range(2000))


def test_holdout_users_stay_in_holdout_when_variants_change():
    held_out = {user for user in range(3000) if assign(8, user, 10, [(1, 1)]) is None}
    later = {
        user for user in range(3000) if assign(8, user, 10, [(1, 1), (2, 1)]) is None
    }
    assert held_out == later


def test_campaign_without_variants_is_rejected():
    with pytest.raises(ValueError, match="no variant"):
        assign(1, 1, 0, [])
