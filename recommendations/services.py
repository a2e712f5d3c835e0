"""The serving function: the one way anything asks for recommendations.

The API, the personalized pages and the campaign e-mails call recommend() or
its batch form recommend_many(); none of them talks to a model. Consent
decides the path: a user who granted personalization gets their precomputed
top list (or an on-demand one), and everyone else, anonymous visitors
included, gets the same non-personal list.
"""

import logging
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, islice

import numpy as np
from django.conf import settings
from scipy import sparse

from accounts.consent import users_with_consent
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
# Users whose new-item scores are computed in one matrix product. It bounds the
# dense (users x items) float32 block to about 100 MB for 100,000 items.
SCORE_CHUNK = 256

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
    return recommend_many([user], n, kind=kind, category=category)[0]


def recommend_many(
    users: Iterable,
    n: int = 10,
    *,
    kind: str | None = None,
    category: str | None = None,
    exclude: Mapping[int, set[int]] | None = None,
) -> list[RecommendationList]:
    """Return recommend()'s list for each of users, in the same order.

    exclude maps a user id to item ids to leave out of that user's list,
    such as items an earlier part of the same e-mail already shows. The
    whole call reads the database with about as many queries as one user
    needs; ServingBatch serves several requests for the same users.
    """
    return ServingBatch(users).recommend(
        n, kind=kind, category=category, exclude=exclude
    )


@dataclass(frozen=True)
class PersonalList:
    """A user's personal list as stored: [item id, score, cause id] rows, best first.

    Candidates are made from the rows only as far as a request reads, so a
    slot of a few items costs a few candidates rather than one per row.
    """

    label: str
    entries: list

    def __iter__(self) -> Iterator[Candidate]:
        for item_id, score, because in self.entries:
            yield Candidate(item_id, score, because, Source.PERSONAL, self.label)


NO_LIST = PersonalList("", [])


@dataclass(frozen=True)
class UserState:
    """The serving state of one consenting user on the personal path."""

    # Item id to the kind of one interaction with it, for the reasons.
    seen: dict[int, str]
    group: str | None
    personal: PersonalList
    new_items: list[Candidate]


NON_PERSONAL = UserState({}, None, NO_LIST, [])


class ServingBatch:
    """The serving state of a set of users, read once for all of them.

    Consent, interaction history, demographic group and precomputed lists
    of all the users come from one query each. The active model versions
    are looked up once. A campaign batch of 500 recipients therefore costs
    about as many queries as a single request. Users without personalization
    consent, and anonymous visitors, share one non-personal list.
    """

    def __init__(self, users: Iterable):
        self.users = list(users)
        ids = {
            user.pk for user in self.users if user is not None and user.is_authenticated
        }
        personal = users_with_consent(Purpose.PERSONALIZATION, ids) if ids else set()
        seen = read_histories(personal)
        groups = read_groups(personal)
        lists = personal_lists(personal, seen)
        self.popularity = registry.load_active("popularity")
        new_items = new_item_lists(seen, self.popularity)
        self.states = {
            user_id: UserState(
                seen.get(user_id, {}),
                groups.get(user_id),
                lists.get(user_id, NO_LIST),
                new_items.get(user_id, []),
            )
            for user_id in personal
        }
        self.popular_lists: dict[str | None, PopularList] = {}
        self.personal_ids: set[int] = set()
        for state in self.states.values():
            self.personal_ids.update(entry[0] for entry in state.personal.entries)
            self.personal_ids.update(c.item_id for c in state.new_items)

    def state(self, user) -> UserState:
        if user is None or not user.is_authenticated:
            return NON_PERSONAL
        return self.states.get(user.pk, NON_PERSONAL)

    def recommend(
        self,
        n: int = 10,
        *,
        kind: str | None = None,
        category: str | None = None,
        exclude: Mapping[int, set[int]] | None = None,
    ) -> list[RecommendationList]:
        """Return up to n items for each user; see recommend_many()."""
        check_length(n)

        exclude = exclude or {}
        states = [self.state(user) for user in self.users]
        excluded = [
            exclude.get(user.pk, ()) if user is not None else () for user in self.users
        ]
        # Each user reads the popular list to a depth of their own, so that
        # their list does not depend on who else is in the batch.
        depths = [
            MAX_N + len(state.seen) + len(left_out)
            for state, left_out in zip(states, excluded, strict=True)
        ]
        matching = self.matching_ids(states, depths, kind=kind, category=category)
        fill = MatchingFill(self, kind=kind, category=category)
        picks = []
        for state, left_out, depth in zip(states, excluded, depths, strict=True):
            candidates = self.candidates(state, n, depth)
            chosen = pick(candidates, n, matching, state.seen, left_out)
            if len(chosen) < n:
                chosen += fill.pick(state, n - len(chosen), chosen, left_out)
            picks.append(chosen)
        return self.build_lists(states, picks)

    def candidates(self, state: UserState, n: int, depth: int) -> Iterator[Candidate]:
        """Yield the user's candidates, best first; repeats are possible.

        Up to NEW_ITEM_SHARE of n new-item candidates (at least one) go at
        the end of the personal top n, so new items get seen. The first
        depth popular items follow.
        """
        seen = state.seen
        personal = (c for c in state.personal if c.item_id not in seen)
        if state.new_items:
            slots = max(1, int(n * NEW_ITEM_SHARE))
            head = islice(personal, max(n - slots, 0))
            personal = chain(head, state.new_items[:slots], personal)
        return chain(personal, self.popular(state.group).head(depth))

    def popular(self, group: str | None) -> "PopularList":
        if group not in self.popular_lists:
            self.popular_lists[group] = PopularList(self.popularity, group)
        return self.popular_lists[group]

    def matching_ids(
        self,
        states: list[UserState],
        depths: list[int],
        *,
        kind: str | None,
        category: str | None,
    ) -> set[int]:
        """Return the candidate ids that are active and match the filters."""
        deepest: dict[str | None, int] = {}
        for state, depth in zip(states, depths, strict=True):
            deepest[state.group] = max(deepest.get(state.group, 0), depth)
        ids = set(self.personal_ids)
        for group, depth in deepest.items():
            ids.update(c.item_id for c in self.popular(group).head(depth))
        if not ids:
            return set()

        items = Item.objects.filter(id__in=ids)
        return set(filter_items(items, kind, category).values_list("id", flat=True))

    def build_lists(
        self, states: list[UserState], picks: list[list[Candidate]]
    ) -> list[RecommendationList]:
        """Turn picked candidates into recommendations with items and reasons."""
        items = Item.objects.in_bulk({c.item_id for chosen in picks for c in chosen})
        causes = {c.because_item_id for chosen in picks for c in chosen}
        causes.discard(None)
        titles = (
            dict(Item.objects.filter(id__in=causes).values_list("id", "title"))
            if causes
            else {}
        )
        results = []
        for state, chosen in zip(states, picks, strict=True):
            recommendations = [
                Recommendation(
                    item=items[candidate.item_id],
                    score=candidate.score,
                    reason=reason(candidate, state.seen, titles),
                    source=candidate.source,
                    model_version=candidate.model_version,
                )
                for candidate in chosen
                # An item deleted since it was matched is left out.
                if candidate.item_id in items
            ]
            personalized = any(
                r.source in (Source.PERSONAL, Source.NEW_ITEM) for r in recommendations
            )
            results.append(RecommendationList(recommendations, personalized))
        return results


def check_length(n: int) -> None:
    if n < 1 or n > MAX_N:
        raise ValueError(f"n={n} is out of range: request 1 to {MAX_N} items.")


def pick(
    candidates: Iterable[Candidate],
    n: int,
    matching: set[int],
    seen: Mapping[int, str],
    excluded: Container[int],
) -> list[Candidate]:
    """Return the first n distinct matching candidates not seen or excluded."""
    chosen: list[Candidate] = []
    considered: set[int] = set()
    for candidate in candidates:
        item_id = candidate.item_id
        if item_id in considered:
            continue
        considered.add(item_id)
        if item_id in matching and item_id not in seen and item_id not in excluded:
            chosen.append(candidate)
            if len(chosen) == n:
                break
    return chosen


def filter_items(items, kind: str | None, category: str | None):
    items = items.filter(is_active=True)
    if kind:
        items = items.filter(kind=kind)
    if category:
        items = items.filter(categories__slug=category)
    return items


def read_histories(user_ids: set[int]) -> dict[int, dict[int, str]]:
    """Return, per user, the items they interacted with and one kind each."""
    seen: dict[int, dict[int, str]] = {}
    if not user_ids:
        return seen
    rows = Interaction.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "item_id", "kind"
    )
    for user_id, item_id, kind in rows.iterator(chunk_size=10_000):
        seen.setdefault(user_id, {}).setdefault(item_id, kind)
    return seen


def read_groups(user_ids: set[int]) -> dict[int, str]:
    """Return each user's demographic group key, for those with a profile."""
    if not user_ids:
        return {}
    rows = Profile.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "age", "gender"
    )
    return {
        user_id: group_key(age_band(age), gender or None)
        for user_id, age, gender in rows
    }


def personal_lists(
    user_ids: set[int], seen: dict[int, dict[int, str]]
) -> dict[int, PersonalList]:
    """Return each user's precomputed list, or one scored from their history.

    A list stored from a version that is no longer active is ignored, and
    the user's history is scored on demand instead, as for a user the model
    was not trained on.
    """
    lists: dict[int, PersonalList] = {}
    if not user_ids:
        return lists

    rows = UserRecommendations.objects.filter(user_id__in=user_ids).values_list(
        "user_id",
        "entries",
        "model_version_id",
        "model_version__algorithm",
        "model_version__is_active",
    )
    for user_id, entries, version_id, algorithm, is_active in rows:
        if is_active:
            lists[user_id] = PersonalList(f"{algorithm}:{version_id}", entries)

    on_demand = {
        user_id: seen[user_id]
        for user_id in user_ids
        if user_id not in lists and seen.get(user_id)
    }
    lists.update(on_demand_lists(on_demand))
    return lists


def history_rows(loaded, histories: list[Iterable[int]]) -> sparse.csr_matrix:
    """Return the histories as binary rows over the model's item columns.

    Items the model does not know are left out.
    """
    rows, columns = [], []
    for row, items in enumerate(histories):
        positions = loaded.item_positions(sorted(items))
        positions = positions[positions >= 0]
        rows.append(np.full(len(positions), row))
        columns.append(positions)
    rows_array = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    columns_array = np.concatenate(columns) if columns else np.zeros(0, np.int64)
    return sparse.csr_matrix(
        (np.ones(len(rows_array), np.float32), (rows_array, columns_array)),
        shape=(len(histories), len(loaded.item_ids)),
    )


def on_demand_lists(histories: dict[int, dict[int, str]]) -> dict[int, PersonalList]:
    """Score histories the model was not trained on, such as new users'."""
    if not histories:
        return {}
    loaded = registry.load_active(settings.ATTUNE_SERVING_ALGORITHM)
    if loaded is None:
        return {}

    user_ids = list(histories)
    matrix = history_rows(loaded, [histories[user_id] for user_id in user_ids])
    known = np.flatnonzero(matrix.getnnz(axis=1))
    if not len(known):
        return {}
    top_items, top_scores = loaded.model.recommend(
        np.full(len(known), -1), matrix[known], settings.ATTUNE_PRECOMPUTE_LENGTH
    )
    label = loaded.version.label
    all_causes = loaded.model.explain_rows(matrix[known], top_items)
    lists = {}
    for row, items, scores, causes in zip(
        known, top_items, top_scores, all_causes, strict=True
    ):
        entries = [
            (
                int(loaded.item_ids[item]),
                float(score),
                int(loaded.item_ids[cause]) if cause is not None else None,
            )
            for item, score, cause in zip(items, scores, causes, strict=True)
        ]
        lists[user_ids[row]] = PersonalList(label, entries)
    return lists


def new_item_lists(
    seen: dict[int, dict[int, str]], popularity
) -> dict[int, list[Candidate]]:
    """Return, per user, items with no interactions yet, by content similarity.

    Items the active popularity version counts zero times, or does not know
    at all, are new. Without an active content version there are none, and
    a catalogue without new items costs no scoring at all.
    """
    histories = {user_id: items for user_id, items in seen.items() if items}
    if not histories:
        return {}
    loaded = registry.load_active(CONTENT_ALGORITHM)
    if loaded is None:
        return {}
    cold = ~known_popular_items(popularity, loaded.item_ids)
    if not cold.any():
        return {}

    user_ids = list(histories)
    label = loaded.version.label
    lists = {}
    for start in range(0, len(user_ids), SCORE_CHUNK):
        chunk = user_ids[start : start + SCORE_CHUNK]
        matrix = history_rows(loaded, [histories[user_id] for user_id in chunk])
        scores = np.asarray(loaded.model.score(np.full(len(chunk), -1), matrix))
        scores = np.where(cold & (scores > 0), scores, -np.inf)
        orders = []
        for row in range(len(chunk)):
            order = np.argsort(-scores[row], kind="stable")[:MAX_N]
            orders.append(order[np.isfinite(scores[row, order])])
        all_causes = loaded.model.explain_rows(matrix, orders)
        for row, (user_id, order, causes) in enumerate(
            zip(chunk, orders, all_causes, strict=True)
        ):
            if not len(order):
                continue
            lists[user_id] = [
                Candidate(
                    int(loaded.item_ids[item]),
                    float(scores[row, item]),
                    int(loaded.item_ids[cause]) if cause is not None else None,
                    Source.NEW_ITEM,
                    label,
                )
                for item, cause in zip(order, causes, strict=True)
            ]
    return lists


def known_popular_items(loaded, item_ids: np.ndarray) -> np.ndarray:
    """Return, per item id, whether the loaded popularity version counted it."""
    if loaded is None:
        return np.zeros(len(item_ids), dtype=bool)
    positions = loaded.item_positions(item_ids)
    counts = np.where(positions >= 0, loaded.model.scores_[positions], 0.0)
    return counts > 0


class PopularList:
    """Items with a positive popularity, best first, within a demographic group.

    The group's scores are used when the active popularity version has the
    group, the global ones otherwise. Candidates are made only as deep
    as a request reads.
    """

    def __init__(self, loaded, group: str | None):
        self.candidates: list[Candidate] = []
        if loaded is None:
            self.order = np.zeros(0, dtype=np.int64)
            return

        self.scores, in_group = loaded.model.scores_for_group(group)
        order = np.argsort(-self.scores, kind="stable")
        self.order = order[self.scores[order] > 0]
        self.item_ids = loaded.item_ids
        self.source = Source.POPULAR_GROUP if in_group else Source.POPULAR
        self.label = loaded.version.label

    def head(self, length: int) -> list[Candidate]:
        """Return the first length candidates, or all when there are fewer."""
        for index in self.order[len(self.candidates) : length]:
            self.candidates.append(
                Candidate(
                    int(self.item_ids[index]),
                    float(self.scores[index]),
                    None,
                    self.source,
                    self.label,
                )
            )
        return self.candidates[:length]


class MatchingFill:
    """Items that match the filters, to fill lists shorter than n.

    The candidate lists only contain the top of each ranking, so a narrow
    filter, inactive items or exclusions can leave a list short although
    more items match. This pass reads the
    matching ids once, orders them by popularity (never-seen items last,
    newest first) per demographic group, and gives each short list the
    first ones it has not chosen, seen or excluded.
    """

    def __init__(self, batch: ServingBatch, *, kind: str | None, category: str | None):
        self.batch = batch
        self.kind = kind
        self.category = category
        self.matching: list[int] | None = None
        self.ranked: dict[str | None, list[Candidate]] = {}

    def pick(
        self,
        state: UserState,
        count: int,
        chosen: list[Candidate],
        excluded: Container[int],
    ) -> list[Candidate]:
        chosen_ids = {c.item_id for c in chosen}
        picked = []
        for candidate in self.ranking(state.group):
            item_id = candidate.item_id
            if item_id in chosen_ids or item_id in state.seen or item_id in excluded:
                continue
            picked.append(candidate)
            if len(picked) == count:
                break
        return picked

    def ranking(self, group: str | None) -> list[Candidate]:
        if group in self.ranked:
            return self.ranked[group]
        if self.matching is None:
            items = filter_items(Item.objects.all(), self.kind, self.category)
            self.matching = list(items.order_by("-id").values_list("id", flat=True))

        loaded = self.batch.popularity
        scores = np.zeros(len(self.matching))
        label, source = "", Source.POPULAR
        if loaded is not None and self.matching:
            group_scores, in_group = loaded.model.scores_for_group(group)
            positions = loaded.item_positions(self.matching)
            known = positions >= 0
            scores[known] = group_scores[positions[known]]
            label = loaded.version.label
            source = Source.POPULAR_GROUP if in_group else Source.POPULAR
        order = np.argsort(-scores, kind="stable")
        self.ranked[group] = [
            Candidate(self.matching[k], float(scores[k]), None, source, label)
            for k in order
        ]
        return self.ranked[group]


def reason(candidate: Candidate, seen: Mapping[int, str], titles: dict) -> str:
    """Return why the item was chosen, naming the seen item behind it."""
    cause = candidate.because_item_id
    if cause in titles:
        verb = REASON_VERBS.get(seen.get(cause), "viewed")
        return f"Because you {verb} {titles[cause]}"
    if candidate.source == Source.NEW_ITEM:
        return "New, and like what you viewed"
    if candidate.source == Source.POPULAR_GROUP:
        return "Popular with people like you"
    if candidate.source == Source.PERSONAL:
        return "Picked for you"
    return "Popular right now"


def select_items(candidates: list[Candidate], n: int) -> list[tuple[Item, Candidate]]:
    """Return the first n candidates whose items are active, with the items."""
    unique: dict[int, Candidate] = {}
    for candidate in candidates:
        unique.setdefault(candidate.item_id, candidate)

    by_id = Item.objects.filter(id__in=list(unique), is_active=True).in_bulk()
    chosen = [
        (by_id[item_id], candidate)
        for item_id, candidate in unique.items()
        if item_id in by_id
    ]
    return chosen[:n]


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
    check_length(n)

    source = SIMILAR_KNN
    candidates = knn_neighbour_candidates(item)
    chosen = select_items(candidates, n)
    if not chosen:
        source = SIMILAR_FALLBACK
        candidates = same_category_candidates(item)
        chosen = select_items(candidates, n)

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
