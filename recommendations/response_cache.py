"""Cache of serialized recommendation lists, keyed by what they depend on.

One query reads the state a user's list depends on: the user's newest
consent event and newest interaction, and the active model versions (their
count and latest activation time). That state is part of the cache key, so
a consent change, a new event or a newly activated model version each lead
to a fresh list on the next request, with no explicit delete. A cache miss
calls recommend(), which decides consent through accounts.consent itself.
Catalog changes made through the API bump a generation number that is
stored next to each entry.
"""

from django.core.cache import cache
from django.db import connection

from accounts.models import ConsentEvent
from catalog.api import CATALOG_GENERATION_KEY
from recommendations.models import Interaction, ModelVersion
from recommendations.serializers import RecommendationListSerializer
from recommendations.services import recommend

# Seconds; bounds staleness from changes the key cannot see, such as a
# rebuilt demographic profile or an item deactivated in the admin.
CACHE_SECONDS = 300


def cached_recommendations(
    user, n: int, *, kind: str | None = None, category: str | None = None
) -> dict:
    """Return recommend()'s result serialized, from the cache when current."""
    consent, event, active, activated = serving_state(user.pk)
    # A datetime on MariaDB and a string on SQLite; either way without spaces.
    stamp = str(activated).replace(" ", "T")
    state = f"{consent}:{event}:{active}:{stamp}"
    key = f"recs:{user.pk}:{state}:{n}:{kind or ''}:{category or ''}"
    found = cache.get_many([key, CATALOG_GENERATION_KEY])
    generation = found.get(CATALOG_GENERATION_KEY, 0)
    entry = found.get(key)
    if entry is not None and entry["generation"] == generation:
        return entry["data"]

    result = recommend(user, n, kind=kind, category=category)
    data = RecommendationListSerializer(result).data
    cache.set(key, {"generation": generation, "data": data}, CACHE_SECONDS)
    return data


def serving_state(user_id: int) -> tuple:
    """Return the newest consent event, newest interaction and active models."""
    consents = ConsentEvent._meta.db_table
    interactions = Interaction._meta.db_table
    versions = ModelVersion._meta.db_table
    sql = (
        f"SELECT (SELECT MAX(id) FROM {consents} WHERE user_id = %s),"
        f" (SELECT MAX(id) FROM {interactions} WHERE user_id = %s),"
        f" (SELECT COUNT(*) FROM {versions} WHERE is_active = %s),"
        f" (SELECT MAX(activated_at) FROM {versions} WHERE is_active = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, user_id, True, True])
        return cursor.fetchone()
