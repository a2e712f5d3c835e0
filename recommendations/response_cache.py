"""Cache of serialized recommendation lists, keyed by what they depend on.

The key holds the user, whether personalization consent is granted, the
active model versions, the user's newest interaction id and the query, so
a new event, a consent change or a newly activated model version each
lead to a fresh list on the next request without any explicit delete.
Consent is read from the database on every request, so a withdrawal takes
effect on the next request. Catalog changes made through the API bump a
generation number stored next to the entries.
"""

from django.core.cache import cache
from django.db.models import Max

from accounts.consent import has_consent
from accounts.models import Purpose
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
    personal = has_consent(user, Purpose.PERSONALIZATION)
    key = cache_key(user.pk, personal, n, kind, category)
    found = cache.get_many([key, CATALOG_GENERATION_KEY])
    generation = found.get(CATALOG_GENERATION_KEY, 0)
    entry = found.get(key)
    if entry is not None and entry["generation"] == generation:
        return entry["data"]

    result = recommend(user, n, kind=kind, category=category)
    data = RecommendationListSerializer(result).data
    cache.set(key, {"generation": generation, "data": data}, CACHE_SECONDS)
    return data


def cache_key(user_id: int, personal: bool, n: int, kind, category) -> str:
    versions = ",".join(
        str(pk)
        for pk in ModelVersion.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    last_event = 0
    if personal:
        last_event = (
            Interaction.objects.filter(user_id=user_id).aggregate(last=Max("id"))[
                "last"
            ]
            or 0
        )
    return (
        f"recs:{user_id}:{int(personal)}:{versions}:{last_event}:"
        f"{n}:{kind or ''}:{category or ''}"
    )
