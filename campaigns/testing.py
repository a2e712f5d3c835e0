"""Builders of catalogs, users and campaigns for the tests and the benchmark.

They write real rows and train the real popularity model, so that content
slots are filled by the serving function as in production.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.consent import grant_imported_consents, record_consent
from accounts.models import ConsentSource, Profile, Purpose, User
from campaigns.models import Campaign, ContentSlot, Segment, Variant
from catalog.models import Category, Course, CourseLevel, Item, ItemKind, Post, Product
from recommendations import training
from recommendations.models import Interaction, InteractionKind

HTML_BODY = """<html><head><style>
h1 { color: #1d2330; font-family: Arial, sans-serif; }
.item { padding: 8px; border-bottom: 1px solid #eee; }
</style></head><body>
<h1>Hello {{ first_name }}</h1>
{% for slot in slot_list %}<h2>{{ slot.heading }}</h2>
{% for item in slot.items %}<div class="item">
<a href="{{ item.link }}">{{ item.title }}</a>
{% if item.price %}{{ item.price }} {{ item.currency }}{% endif %}
{% if item.level %}{{ item.level }}{% endif %} <em>{{ item.reason }}</em></div>
{% endfor %}{% endfor %}
</body></html>"""
TEXT_BODY = """Hello {{ first_name }},
{% for slot in slot_list %}
{{ slot.heading }}
{% for item in slot.items %}- {{ item.title }}: {{ item.link }}
{% endfor %}{% endfor %}"""
SUBJECT = "{{ first_name }}, picks for you"


def make_catalog(items_per_kind: int = 8) -> list[Item]:
    """Create products, courses and posts in two categories."""
    books = Category.objects.create(name="Books", slug="books")
    music = Category.objects.create(name="Music", slug="music")
    items = []
    for kind in ItemKind.values:
        for number in range(items_per_kind):
            item = Item.objects.create(
                kind=kind,
                title=f"{kind.title()} {number}",
                url=f"https://shop.example/{kind}/{number}",
                image_url=f"https://shop.example/{kind}/{number}.jpg",
            )
            item.categories.add(books if number % 2 == 0 else music)
            add_subtype(item, number)
            items.append(item)
    return items


def add_subtype(item: Item, number: int) -> None:
    if item.kind == ItemKind.PRODUCT:
        Product.objects.create(item=item, price=Decimal("9.90") + number)
    elif item.kind == ItemKind.COURSE:
        Course.objects.create(
            item=item, level=CourseLevel.INTERMEDIATE, price=Decimal("49.00")
        )
    else:
        Post.objects.create(item=item, author="Staff")


def make_user(
    username: str,
    *,
    first_name: str = "",
    email: str | None = None,
    consents: tuple[str, ...] = (Purpose.EMAIL,),
    **profile,
) -> User:
    """Create a user with a profile and the given consents granted."""
    user = User.objects.create_user(
        username=username,
        first_name=first_name,
        email=f"{username}@example.com" if email is None else email,
    )
    Profile.objects.create(user=user, **profile)
    for purpose in consents:
        record_consent(user, purpose, True, ConsentSource.SIGNUP)
    return user


def add_interactions(
    user: User, items: list[Item], kind: str = InteractionKind.VIEW, days_ago: int = 1
) -> None:
    when = timezone.now() - timedelta(days=days_ago)
    Interaction.objects.bulk_create(
        Interaction(
            user=user,
            item=item,
            kind=kind,
            occurred_at=when,
            event_id=f"test:{user.pk}:{item.pk}:{kind}:{days_ago}",
        )
        for item in items
    )


def train_popularity(items: list[Item]) -> None:
    """Give every item a distinct popularity and train the popularity model."""
    crowd = [
        User.objects.create_user(username=f"crowd{index}", is_active=False)
        for index in range(len(items))
    ]
    # Training reads only the interactions of users who allow personalization.
    grant_imported_consents(
        [member.pk for member in crowd], Purpose.PERSONALIZATION, "Test crowd."
    )
    for rank, item in enumerate(items):
        for member in crowd[: len(items) - rank]:
            add_interactions(member, [item], days_ago=400)
    training.train("popularity")


def make_campaign(
    segment: Segment | None = None,
    *,
    slug: str = "spring",
    holdout_percent: int = 0,
    variants: tuple[tuple[str, int], ...] = (("A", 1),),
    slots: tuple[tuple[str, int, str], ...] = (("products", 3, ItemKind.PRODUCT),),
    **fields,
) -> Campaign:
    """Create a campaign with variants of the sample templates and its slots."""
    segment = segment or Segment.objects.create(name=f"segment of {slug}")
    campaign = Campaign.objects.create(
        name=slug.title(),
        slug=slug,
        segment=segment,
        holdout_percent=holdout_percent,
        **fields,
    )
    for name, weight in variants:
        Variant.objects.create(
            campaign=campaign,
            name=name,
            weight=weight,
            subject=SUBJECT,
            html_body=HTML_BODY,
            text_body=TEXT_BODY,
        )
    for position, (key, size, kind) in enumerate(slots):
        ContentSlot.objects.create(
            campaign=campaign,
            key=key,
            heading=f"{size} {kind}s for you",
            size=size,
            kind=kind,
            position=position,
        )
    return campaign
