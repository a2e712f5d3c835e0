"""Write validated MovieLens frames into users, items and interactions.

Everything happens in one transaction, so an error leaves the database as it
was. Rows that already exist (by external id or event id) are skipped, which
makes a second run of the same import change nothing.
"""

import logging
from dataclasses import dataclass

import pandas as pd
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from accounts.consent import grant_imported_consents
from accounts.models import Profile, Purpose, User
from catalog.models import Category, Item, ItemKind, Product
from recommendations.models import Interaction, InteractionKind
from recommendations.movielens import ImportDataError, MovieLensFrames

logger = logging.getLogger(__name__)
DEFAULT_NAMESPACE = "movielens"
BATCH_SIZE = 5_000  # interactions per INSERT: about 1 MB of SQL on MariaDB
IMPORT_WORDING = (
    "MovieLens research data set: participants agreed that their ratings be "
    "used to recommend movies."
)


@dataclass
class ImportSummary:
    source: str
    users_created: int = 0
    users_existing: int = 0
    items_created: int = 0
    items_existing: int = 0
    categories_created: int = 0
    interactions_created: int = 0
    interactions_existing: int = 0
    consents_recorded: int = 0

    def lines(self) -> list[str]:
        return [
            f"Imported {self.source}",
            f"  users: {self.users_created} new, {self.users_existing} already stored",
            f"  items: {self.items_created} new, {self.items_existing} already stored",
            f"  categories: {self.categories_created} new",
            f"  interactions: {self.interactions_created} new, "
            f"{self.interactions_existing} already stored",
            f"  personalization consent recorded with source 'import' for "
            f"{self.consents_recorded} users",
        ]


def import_frames(
    frames: MovieLensFrames,
    namespace: str = DEFAULT_NAMESPACE,
    progress: bool = True,
) -> ImportSummary:
    """Store the frames; ids become external ids such as "movielens:242".

    The namespace keeps data sets apart: MovieLens 100K and ml-latest both
    number their movies from 1, so importing both needs two namespaces.
    """
    summary = ImportSummary(source=frames.source)
    with transaction.atomic():
        categories = import_categories(frames.items, summary)
        item_ids = import_items(frames, namespace, categories, summary)
        user_ids = import_users(frames, namespace, summary)
        import_interactions(
            frames.ratings, namespace, user_ids, item_ids, summary, progress
        )
        summary.consents_recorded = grant_imported_consents(
            user_ids.values(), Purpose.PERSONALIZATION, IMPORT_WORDING
        )
    logger.info(
        "Imported %s: %s users, %s items, %s interactions new",
        frames.source,
        summary.users_created,
        summary.items_created,
        summary.interactions_created,
    )
    return summary


def import_categories(items: pd.DataFrame, summary: ImportSummary) -> dict[str, int]:
    names = sorted({genre for genres in items["genres"] for genre in genres})
    slugs = {name: slugify(name) or "unknown" for name in names}
    existing = dict(
        Category.objects.filter(slug__in=slugs.values()).values_list("slug", "id")
    )
    new = [
        Category(name=name, slug=slug)
        for name, slug in slugs.items()
        if slug not in existing
    ]
    Category.objects.bulk_create(new)
    summary.categories_created = len(new)
    by_slug = dict(
        Category.objects.filter(slug__in=slugs.values()).values_list("slug", "id")
    )
    return {name: by_slug[slug] for name, slug in slugs.items()}


def import_items(
    frames: MovieLensFrames,
    namespace: str,
    categories: dict[str, int],
    summary: ImportSummary,
) -> dict[str, int]:
    """Create a product per movie; return the item id of every movie id."""
    items = frames.items
    external = {f"{namespace}:{movie_id}": movie_id for movie_id in items["item_id"]}
    stored_titles = dict(
        Item.objects.filter(external_id__in=external).values_list(
            "external_id", "title"
        )
    )
    check_same_titles(frames, namespace, stored_titles)
    existing = set(stored_titles)
    new_rows = items[[key not in existing for key in external]]
    Item.objects.bulk_create(
        [
            Item(
                kind=ItemKind.PRODUCT,
                title=row.title[:255],
                url=row.url[:500],
                external_id=f"{namespace}:{row.item_id}",
            )
            for row in new_rows.itertuples()
        ],
        batch_size=1000,
    )
    ids = dict(
        Item.objects.filter(external_id__in=external).values_list("external_id", "id")
    )
    item_ids = {movie_id: ids[key] for key, movie_id in external.items()}

    Product.objects.bulk_create(
        [
            Product(item_id=item_ids[row.item_id], released_on=row.released_on)
            for row in new_rows.itertuples()
        ],
        batch_size=1000,
    )
    links = Item.categories.through
    links.objects.bulk_create(
        [
            links(item_id=item_ids[row.item_id], category_id=categories[genre])
            for row in new_rows.itertuples()
            for genre in row.genres
        ],
        batch_size=5000,
    )
    summary.items_created = len(new_rows)
    summary.items_existing = len(existing)
    return item_ids


def check_same_titles(
    frames: MovieLensFrames, namespace: str, stored: dict[str, str]
) -> None:
    """Raise when a stored item id now carries another title.

    That happens when a different data set reuses the ids, and without this
    check its ratings would land on the wrong movies.
    """
    for row in frames.items.itertuples():
        title = stored.get(f"{namespace}:{row.item_id}")
        if title is not None and title != row.title[:255]:
            raise ImportDataError(
                f"{frames.items_file} line {row.line}: item {row.item_id} is "
                f"{row.title!r} but {namespace}:{row.item_id} is stored as "
                f"{title!r}. If this is another data set, import it with "
                "--namespace and a name of its own."
            )


def import_users(
    frames: MovieLensFrames, namespace: str, summary: ImportSummary
) -> dict[str, int]:
    """Create a user and profile per MovieLens user; return their ids."""
    if frames.users is not None:
        users = frames.users
    else:
        ids = sorted(set(frames.ratings["user_id"]), key=int)
        users = pd.DataFrame({"user_id": ids, "age": None, "gender": ""})
        users["occupation"] = ""
        users["postcode"] = ""

    external = {f"{namespace}:{user_id}": user_id for user_id in users["user_id"]}
    existing = set(
        User.objects.filter(external_id__in=external).values_list(
            "external_id", flat=True
        )
    )
    new_rows = users[[key not in existing for key in external]]
    usernames = {f"{namespace}-{user_id}" for user_id in new_rows["user_id"]}
    taken = list(
        User.objects.filter(username__in=usernames).values_list("username", flat=True)
    )
    if taken:
        raise ImportDataError(
            f"User name {taken[0]!r} already belongs to another user; rename "
            "that user before importing MovieLens."
        )

    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(
                username=f"{namespace}-{row.user_id}",
                external_id=f"{namespace}:{row.user_id}",
                password=unusable,
            )
            for row in new_rows.itertuples()
        ],
        batch_size=1000,
    )
    ids = dict(
        User.objects.filter(external_id__in=external).values_list("external_id", "id")
    )
    user_ids = {user_id: ids[key] for key, user_id in external.items()}
    Profile.objects.bulk_create(
        [
            Profile(
                user_id=user_ids[row.user_id],
                age=None if pd.isna(row.age) else int(row.age),
                gender=row.gender if row.gender in {"F", "M"} else "",
                occupation=str(row.occupation)[:64],
                postcode=str(row.postcode)[:16],
            )
            for row in new_rows.itertuples()
        ],
        batch_size=1000,
    )
    summary.users_created = len(new_rows)
    summary.users_existing = len(existing)
    return user_ids


def import_interactions(
    ratings: pd.DataFrame,
    namespace: str,
    user_ids: dict[str, int],
    item_ids: dict[str, int],
    summary: ImportSummary,
    progress: bool,
) -> None:
    event_ids = (
        namespace
        + ":"
        + ratings["user_id"]
        + ":"
        + ratings["item_id"]
        + ":"
        + ratings["timestamp"].astype(str)
    )
    existing = set(
        Interaction.objects.filter(event_id__startswith=f"{namespace}:").values_list(
            "event_id", flat=True
        )
    )
    fresh = ~event_ids.isin(existing)
    rows = ratings[fresh.to_numpy()]
    event_ids = event_ids[fresh]
    times = pd.to_datetime(rows["timestamp"].astype("int64"), unit="s", utc=True)

    objects = (
        Interaction(
            user_id=user_ids[user_id],
            item_id=item_ids[item_id],
            kind=InteractionKind.RATING,
            value=float(rating),
            occurred_at=occurred_at,
            event_id=event_id,
        )
        for user_id, item_id, rating, occurred_at, event_id in zip(
            rows["user_id"],
            rows["item_id"],
            rows["rating"],
            times.dt.to_pydatetime(),
            event_ids,
            strict=True,
        )
    )
    with tqdm(
        total=len(rows), desc="interactions", unit="row", disable=not progress
    ) as bar:
        batch: list[Interaction] = []
        for interaction in objects:
            batch.append(interaction)
            if len(batch) == BATCH_SIZE:
                Interaction.objects.bulk_create(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            Interaction.objects.bulk_create(batch)
            bar.update(len(batch))

    summary.interactions_created = len(rows)
    summary.interactions_existing = int((~fresh).sum())
