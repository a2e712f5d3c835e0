"""The serving function: the one way anything asks for recommendations.

The API, the personalized pages and the campaign e-mails call recommend();
none of them talks to a model. Consent decides the path: a user who granted
personalization gets their precomputed top list (or an on-demand one), and
everyone else, anonymous visitors included, gets the same non-personal list.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from scipy import sparse

from accounts.consent import has_consent
from accounts.models import Profile, Purpose, age_band
from catalog.models import Item
from recommendations import registry
from recommendations.algorithms.popularity import group_key
from recommendations.models import Interaction, InteractionKind, UserRecommendations

logger = logging.getLogger(__name__)
MAX_N = 100
# Share of a personal list kept for items nobody has interacted with yet
# (at least one slot when such an item matches), so new items get seen.
NEW_ITEM_SHARE = 0.1
CONTENT_ALGORITHM = "content"

REASON_VERBS = {
    InteractionKind.RATING: "rated",
    InteractionKind.PURCHASE: "bought",
    InteractionKind.ENROLL: "enrolled in",
    InteractionKind.LIKE: "liked",
    InteractionKind.VIEW: "viewed",
    InteractionKind.CLICK: "viewed",
}


class Source:
    """Name of the path that produced a recommendation, reported with every item."""

    PERSONAL = "personal"
    # An item without interactions yet, found by content similarity.
    NEW_ITEM = "content"
    POPULAR_GROUP = "popular_in_group"
    POPULAR = "popular"


@dataclass(frozen=True)
class Candidate:
    item_id: int
    score: float
    because_item_id: int | None
    source: str
    model_version: str


@dataclass(frozen=True)
class Recommendation:
    item: Item
    score: float
    reason: str
    source: str
    model_version: str


@dataclass
class RecommendationList:
    items: list[Recommendation] = field(default_factory=list)
    personalized: bool = False

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def recommend(
    user,
    n: int = 10,
    *,
    kind: str | None = None,
    category: str | None = None,
) -> RecommendationList:
    """Return up to n active items for the user, best first, with reasons.

    Items the user already interacted with are left out on the personal
    path. kind limits the result to products, courses or posts, and category
    to items in the category with that slug. Fewer than n items come back
    only when fewer match.
    """
    if n < 1 or n > MAX_N:
        raise ValueError(f"n={n} is out of range: ask for 1 to {MAX_N} items.")

    personal = bool(
        user is not None
        and user.is_authenticated
        and has_consent(user, Purpose.PERSONALIZATION)
    )
    seen: set[int] = set()
    candidates: list[Candidate] = []
    if personal:
        seen = set(
            Interaction.objects.filter(user_id=user.pk).values_list(
                "item_id", flat=True
            )
        )
        candidates = personal_candidates(user, seen)
        candidates = with_new_items(candidates, new_item_candidates(seen), n)
    group = demographic_group(user) if personal else None
    candidates += popular_candidates(group, seen)

    chosen = select_items(candidates, n, kind=kind, category=category)
    if len(chosen) < n and (kind or category):
        chosen += matching_fill(chosen, n, seen, group, kind=kind, category=category)
    items = [
        Recommendation(
            item=item,
            score=candidate.score,
            reason=reason,
            source=candidate.source,
            model_version=candidate.model_version,
        )
        for (item, candidate), reason in zip(
            chosen, build_reasons(user, chosen), strict=True
        )
    ]
    return RecommendationList(
        items=items,
        personalized=any(r.source in (Source.PERSONAL, Source.NEW_ITEM) for r in items),
    )


def personal_candidates(user, seen: set[int]) -> list[Candidate]:
    """Return the user's precomputed list, or score their history on demand."""
    stored = (
        UserRecommendations.objects.filter(user_id=user.pk)
        .select_related("model_version")
        .first()
    )
    if stored is not None and stored.model_version.is_active:
        label = stored.model_version.label
        return [
            Candidate(item_id, score, because, Source.PERSONAL, label)
            for item_id, score, because in stored.entries
            if item_id not in seen
        ]
    if not seen:
        return []
    return on_demand_candidates(seen)


def history_row(loaded, seen: set[int]) -> sparse.csr_matrix | None:
    """Return the seen items as a 1 x n_items row of the model, or None."""
    columns = loaded.item_positions(sorted(seen))
    columns = columns[columns >= 0]
    if not len(columns):
        return None
    return sparse.csr_matrix(
        (np.ones(len(columns), np.float32), (np.zeros(len(columns)), columns)),
        shape=(1, len(loaded.item_ids)),
    )


def on_demand_candidates(seen: set[int]) -> list[Candidate]:
    """Score a history the model was not trained on, such as a new user's."""
    loaded = registry.load_active(settings.ATTUNE_SERVING_ALGORITHM)
    if loaded is None:
        return []

    history = history_row(loaded, seen)
    if history is None:
        return []
    items, scores = loaded.model.recommend(
        np.array([-1]), history, settings.ATTUNE_PRECOMPUTE_LENGTH
    )
    causes = loaded.model.explain(history, items[0])
    label = loaded.version.label
    return [
        Candidate(
            int(loaded.item_ids[item]),
            float(score),
            int(loaded.item_ids[cause]) if cause is not None else None,
            Source.PERSONAL,
            label,
        )
        for item, score, cause in zip(items[0], scores[0], causes, strict=True)
    ]


def with_new_items(
    candidates: list[Candidate], new_items: list[Candidate], n: int
) -> list[Candidate]:
    """Put up to NEW_ITEM_SHARE of n new-item candidates at the end of the top n."""
    if not new_items:
        return candidates
    slots = max(1, int(n * NEW_ITEM_SHARE))
    head = max(n - slots, 0)
    return candidates[:head] + new_items[:slots] + candidates[head:]


def new_item_candidates(seen: set[int]) -> list[Candidate]:
    """Return items with no interactions yet, by content similarity to seen.

    Items the active popularity version counts zero times, or does not know
    at all, are new. Without an active content version there are none.
    """
    loaded = registry.load_active(CONTENT_ALGORITHM)
    if loaded is None or not seen:
        return []

    history = history_row(loaded, seen)
    if history is None:
        return []
    scores = np.asarray(loaded.model.score(np.array([-1]), history))[0]
    cold = ~known_popular_items(loaded.item_ids)
    scores = np.where(cold & (scores > 0), scores, -np.inf)
    order = [i for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]
    causes = loaded.model.explain(history, np.asarray(order[:MAX_N], dtype=np.int64))
    label = loaded.version.label
    return [
        Candidate(
            int(loaded.item_ids[item]),
            float(scores[item]),
            int(loaded.item_ids[cause]) if cause is not None else None,
            Source.NEW_ITEM,
            label,
        )
        for item, cause in zip(order[:MAX_N], causes, strict=True)
    ]


def known_popular_items(item_ids: np.ndarray) -> np.ndarray:
    """Return, per item id, whether the active popularity version counted it."""
    loaded = registry.load_active("popularity")
    if loaded is None:
        return np.zeros(len(item_ids), dtype=bool)
    positions = loaded.item_positions(item_ids)
    counts = np.where(positions >= 0, loaded.model.scores_[positions], 0.0)
    return counts > 0


def demographic_group(user) -> str | None:
    profile = Profile.objects.filter(user_id=user.pk).values("age", "gender").first()
    if profile is None:
        return None
    return group_key(age_band(profile["age"]), profile["gender"] or None)


def popular_candidates(group: str | None, seen: set[int]) -> list[Candidate]:
    """Return popular items, within the demographic group when one is given."""
    loaded = registry.load_active("popularity")
    if loaded is None:
        return []

    scores, in_group = loaded.model.scores_for_group(group)
    source = Source.POPULAR_GROUP if in_group else Source.POPULAR
    order = np.argsort(-scores, kind="stable")[: MAX_N + len(seen)]
    label = loaded.version.label
    candidates = []
    for index in order:
        item_id = int(loaded.item_ids[index])
        if item_id not in seen and scores[index] > 0:
            candidates.append(
                Candidate(item_id, float(scores[index]), None, source, label)
            )
    return candidates


def select_items(
    candidates: list[Candidate], n: int, *, kind: str | None, category: str | None
) -> list[tuple[Item, Candidate]]:
    """Keep the first n candidates whose items are active and match the filters."""
    unique: dict[int, Candidate] = {}
    for candidate in candidates:
        unique.setdefault(candidate.item_id, candidate)

    items = Item.objects.filter(id__in=list(unique), is_active=True)
    if kind:
        items = items.filter(kind=kind)
    if category:
        items = items.filter(categories__slug=category)
    by_id = {item.pk: item for item in items}
    chosen = [
        (by_id[item_id], candidate)
        for item_id, candidate in unique.items()
        if item_id in by_id
    ]
    return chosen[:n]


def matching_fill(
    chosen: list[tuple[Item, Candidate]],
    n: int,
    seen: set[int],
    group: str | None,
    *,
    kind: str | None,
    category: str | None,
) -> list[tuple[Item, Candidate]]:
    """Return items that match the filters to fill a list shorter than n.

    The candidate lists only hold the top of each ranking, so a narrow filter
    can leave a list short although more items match. This pass reads the
    matching ids, orders them by popularity (never-seen items last, newest
    first) and skips what is already chosen or seen.
    """
    matching = Item.objects.filter(is_active=True)
    if kind:
        matching = matching.filter(kind=kind)
    if category:
        matching = matching.filter(categories__slug=category)
    taken = seen | {item.pk for item, _ in chosen}
    ids = [
        item_id
        for item_id in matching.order_by("-id").values_list("id", flat=True)
        if item_id not in taken
    ]
    if not ids:
        return []

    scores, label, source = popularity_of(ids, group)
    ranked = sorted(zip(scores, ids, strict=True), key=lambda pair: -pair[0])
    picked = ranked[: n - len(chosen)]
    by_id = Item.objects.in_bulk([item_id for _, item_id in picked])
    return [
        (by_id[item_id], Candidate(item_id, score, None, source, label))
        for score, item_id in picked
    ]


def popularity_of(ids: list[int], group: str | None) -> tuple[list[float], str, str]:
    """Return popularity scores of item ids (0 when unknown), label and source."""
    loaded = registry.load_active("popularity")
    if loaded is None:
        return [0.0] * len(ids), "", Source.POPULAR

    group_scores, in_group = loaded.model.scores_for_group(group)
    positions = loaded.item_positions(ids)
    scores = [
        float(group_scores[position]) if position >= 0 else 0.0
        for position in positions
    ]
    source = Source.POPULAR_GROUP if in_group else Source.POPULAR
    return scores, loaded.version.label, source


def build_reasons(user, chosen: list[tuple[Item, Candidate]]) -> list[str]:
    """Return one reason per chosen item, naming the seen item behind it."""
    causes = {c.because_item_id for _, c in chosen if c.because_item_id}
    titles = dict(Item.objects.filter(id__in=causes).values_list("id", "title"))
    verbs: dict[int, str] = {}
    if causes:
        rows = Interaction.objects.filter(user_id=user.pk, item_id__in=causes)
        for item_id, kind in rows.values_list("item_id", "kind"):
            verbs.setdefault(item_id, REASON_VERBS.get(kind, "viewed"))

    reasons = []
    for _, candidate in chosen:
        cause = candidate.because_item_id
        if cause in titles:
            reasons.append(f"Because you {verbs.get(cause, 'viewed')} {titles[cause]}")
        elif candidate.source == Source.NEW_ITEM:
            reasons.append("New, and like what you viewed")
        elif candidate.source == Source.POPULAR_GROUP:
            reasons.append("Popular with people like you")
        elif candidate.source == Source.PERSONAL:
            reasons.append("Picked for you")
        else:
            reasons.append("Popular right now")
    return reasons


SIMILAR_KNN = "item_knn"
SIMILAR_FALLBACK = "same_category_popular"


@dataclass
class SimilarItems:
    """Items like one item, and which path found them."""

    item_id: int
    items: list[Recommendation]
    source: str


def similar_items(item: Item, n: int = 10) -> SimilarItems:
    """Return up to n active items similar to item, most similar first.

    The active item-kNN version's similarity row for the item decides; an
    item the model has no neighbours for gets popular items from its own
    categories instead, and source names the path that chose them.
    """
    if n < 1 or n > MAX_N:
        raise ValueError(f"n={n} is out of range: ask for 1 to {MAX_N} items.")

    source = SIMILAR_KNN
    candidates = knn_neighbour_candidates(item)
    chosen = select_items(candidates, n, kind=None, category=None)
    if not chosen:
        source = SIMILAR_FALLBACK
        candidates = same_category_candidates(item)
        chosen = select_items(candidates, n, kind=None, category=None)

    items = [
        Recommendation(
            item=similar,
            score=candidate.score,
            reason=similar_reason(item, candidate.source),
            source=candidate.source,
            model_version=candidate.model_version,
        )
        for similar, candidate in chosen
    ]
    return SimilarItems(item_id=item.pk, items=items, source=source)


def knn_neighbour_candidates(item: Item) -> list[Candidate]:
    loaded = registry.load_active("item_knn")
    if loaded is None:
        return []
    position = int(loaded.item_positions([item.pk])[0])
    if position < 0:
        return []

    row = loaded.model.similarity_.getrow(position)
    order = np.argsort(-row.data, kind="stable")
    label = loaded.version.label
    return [
        Candidate(
            int(loaded.item_ids[row.indices[k]]),
            float(row.data[k]),
            item.pk,
            SIMILAR_KNN,
            label,
        )
        for k in order
        if row.data[k] > 0 and loaded.item_ids[row.indices[k]] != item.pk
    ]


def same_category_candidates(item: Item) -> list[Candidate]:
    """Return items sharing a category with item, the most popular first."""
    # NOTE: the first 2,000 candidates in id order are ranked, so in a larger
    # category some popular items are never considered.
    neighbours = list(
        Item.objects.filter(categories__in=item.categories.all(), is_active=True)
        .exclude(pk=item.pk)
        .distinct()
        .values_list("pk", flat=True)[: MAX_N * 20]
    )
    if not neighbours:
        return []

    loaded = registry.load_active("popularity")
    scores = np.zeros(len(neighbours))
    label = ""
    if loaded is not None:
        popularity, _ = loaded.model.scores_for_group(None)
        positions = loaded.item_positions(neighbours)
        known = positions >= 0
        scores[known] = popularity[positions[known]]
        label = loaded.version.label
    order = np.argsort(-scores, kind="stable")
    return [
        Candidate(neighbours[k], float(scores[k]), None, SIMILAR_FALLBACK, label)
        for k in order
    ]


def similar_reason(item: Item, source: str) -> str:
    if source == SIMILAR_KNN:
        return f"Often chosen together with {item.title}"
    return f"Popular in the same category as {item.title}"
