"""Cache of serialized recommendation lists, keyed by what they depend on.

One query reads the state a user's list depends on: the user's newest
consent event and newest interaction, and the active model versions (their
count and latest activation time). That state is part of the cache key, so
a consent change, a new event or a newly activated model version each lead
to a fresh list on the next request, with no explicit delete. A cache miss
calls recommend(), which decides consent through accounts.consent itself.

Entries live in Django's cache (Redis when REDIS_CACHE_URL is set) and in a
small per-process LRU in front of it, which spares a warm request the Redis
round trip. An entry is valid for the catalog generation it was built on;
catalog changes made through the API bump that generation.
"""

import threading
import time
from collections import OrderedDict

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
# Entries per process: a list of 10 items is about 3 KB, so about 15 MB.
LOCAL_ENTRIES = 5000
# Seconds a process keeps the catalog generation before reading it again,
# so an item deactivated through the API leaves cached lists within this.
GENERATION_SECONDS = 1.0

_local: OrderedDict[str, tuple[float, int, dict]] = OrderedDict()
_local_lock = threading.Lock()
_generation = {"value": 0, "read_at": float("-inf")}


def cached_recommendations(
    user, n: int, *, kind: str | None = None, category: str | None = None
) -> dict:
    """Return recommend()'s result serialized, from a cache when current."""
    consent, event, active, activated = serving_state(user.pk)
    # A datetime on MariaDB and a string on SQLite; either way without spaces.
    stamp = str(activated).replace(" ", "T")
    key = f"recs:{user.pk}:{consent}:{event}:{active}:{stamp}:{n}:{kind or ''}"
    key += f":{category or ''}"
    generation = catalog_generation()

    data = local_get(key, generation)
    if data is not None:
        return data
    entry = cache.get(key)
    if entry is None or entry["generation"] != generation:
        result = recommend(user, n, kind=kind, category=category)
        entry = {
            "generation": generation,
            "data": RecommendationListSerializer(result).data,
        }
        cache.set(key, entry, CACHE_SECONDS)
    local_put(key, generation, entry["data"])
    return entry["data"]


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


def catalog_generation() -> int:
    """Return the catalog generation, reread at most every GENERATION_SECONDS."""
    now = time.monotonic()
    if now - _generation["read_at"] >= GENERATION_SECONDS:
        _generation["value"] = cache.get(CATALOG_GENERATION_KEY, 0)
        _generation["read_at"] = now
    return _generation["value"]


def local_get(key: str, generation: int) -> dict | None:
    with _local_lock:
        found = _local.get(key)
        if found is None:
            return None
        stored_at, stored_generation, data = found
        if (
            stored_generation != generation
            or time.monotonic() - stored_at > CACHE_SECONDS
        ):
            del _local[key]
            return None
        _local.move_to_end(key)
        return data


def local_put(key: str, generation: int, data: dict) -> None:
    with _local_lock:
        _local[key] = (time.monotonic(), generation, data)
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def clear_local_cache() -> None:
    """Forget this process's entries and catalog generation, as tests need."""
    with _local_lock:
        _local.clear()
    _generation["read_at"] = float("-inf")
