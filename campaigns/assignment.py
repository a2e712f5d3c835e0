"""Deterministic assignment of users to a campaign's variants or its holdout."""

import hashlib
from collections.abc import Sequence

# Buckets per campaign; 10,000 gives holdout and weights a 0.01 % resolution.
BUCKETS = 10_000


def bucket(campaign_id: int, user_id: int) -> int:
    """Return the user's bucket in [0, BUCKETS), the same on every call."""
    digest = hashlib.sha256(f"{campaign_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(
    campaign_id: int,
    user_id: int,
    holdout_percent: int,
    variants: Sequence[tuple[int, int]],
) -> int | None:
    """Return the variant id for the user, or None for the holdout.

    variants contains (variant_id, weight) pairs in a stable order; the buckets
    after the holdout are split in proportion to the weights.
    """
    if not variants:
        raise ValueError(f"Campaign {campaign_id} has no variant to assign users to.")

    position = bucket(campaign_id, user_id)
    holdout_buckets = BUCKETS * holdout_percent // 100
    if position < holdout_buckets:
        return None

    total_weight = sum(weight for _, weight in variants)
    share = (position - holdout_buckets) / (BUCKETS - holdout_buckets)
    running = 0
    for variant_id, weight in variants:
        running += weight
        if share < running / total_weight:
            return variant_id
    return variants[-1][0]
