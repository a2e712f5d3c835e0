"""Build each consenting user's behaviour features from the interaction log."""

import logging
from collections import Counter

import pandas as pd
from django.db import transaction
from django.utils import timezone

from accounts.consent import users_with_consent
from accounts.models import Profile, Purpose
from catalog.models import Item
from recommendations.models import Interaction

logger = logging.getLogger(__name__)
TOP_CATEGORIES = 5


def build_profiles(user_ids: list[int] | None = None) -> int:
    """Write features for users with personalization consent; return the count.

    Users without that consent get their features cleared instead, so a
    withdrawal also removes what profiling had derived.
    """
    consenting = users_with_consent(Purpose.PERSONALIZATION, user_ids)
    rows = Interaction.objects.filter(user_id__in=consenting).values_list(
        "user_id", "item_id", "kind", "value", "occurred_at"
    )
    events = pd.DataFrame.from_records(
        list(rows.iterator(chunk_size=20_000)),
        columns=["user_id", "item_id", "kind", "value", "occurred_at"],
    )
    categories = item_categories()
    now = timezone.now()
    features = {
        int(user_id): user_features(group, categories)
        for user_id, group in events.groupby("user_id")
    }

    profiles = list(Profile.objects.filter(user_id__in=consenting))
    for profile in profiles:
        profile.features = features.get(profile.user_id, {"interactions": 0})
        profile.features_updated_at = now

    with transaction.atomic():
        Profile.objects.bulk_update(
            profiles, ["features", "features_updated_at"], batch_size=500
        )
        stale = Profile.objects.exclude(user_id__in=consenting).exclude(features={})
        if user_ids is not None:
            stale = stale.filter(user_id__in=user_ids)
        cleared = stale.update(features={}, features_updated_at=now)

    logger.info(
        "Built profiles for %s users from %s events; cleared %s",
        len(profiles),
        len(events),
        cleared,
    )
    return len(profiles)


def user_features(events: pd.DataFrame, categories: dict[int, list[str]]) -> dict:
    ratings = events["value"].dropna()
    counter: Counter[str] = Counter()
    for item_id in events["item_id"]:
        counter.update(categories.get(item_id, []))
    total = sum(counter.values()) or 1
    return {
        "interactions": len(events),
        "kinds": {str(k): int(v) for k, v in events["kind"].value_counts().items()},
        "mean_rating": round(float(ratings.mean()), 3) if len(ratings) else None,
        "last_active": pd.Timestamp(events["occurred_at"].max()).isoformat(),
        "top_categories": {
            slug: round(count / total, 4)
            for slug, count in counter.most_common(TOP_CATEGORIES)
        },
    }


def item_categories() -> dict[int, list[str]]:
    categories: dict[int, list[str]] = {}
    links = Item.categories.through.objects.values_list("item_id", "category__slug")
    for item_id, slug in links.iterator(chunk_size=20_000):
        categories.setdefault(item_id, []).append(slug)
    return categories
