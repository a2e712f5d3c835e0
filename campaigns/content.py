"""Fill a campaign's content slots from the serving function, a batch at a time.

recommend() is the only source of items. Users without personalization
consent all get the same non-personal list, so that list is asked for once
per slot with no user and reused across the batch.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.consent import users_with_consent
from accounts.models import Purpose
from campaigns.models import ContentSlot
from catalog.models import Course, Item, Product
from recommendations.models import Interaction, InteractionKind
from recommendations.services import MAX_N, Recommendation, recommend

PURCHASE_KINDS = [InteractionKind.PURCHASE, InteractionKind.ENROLL]


@dataclass
class SlotItem:
    """One recommended item as templates see it."""

    item_id: int
    title: str
    kind: str
    image: str
    reason: str
    link: str = ""
    price: Decimal | None = None
    currency: str = ""
    level: str = ""


@dataclass
class FilledSlot:
    key: str
    heading: str
    items: list[SlotItem] = field(default_factory=list)


class SlotFiller:
    """Fill slots for a batch of users with few queries per batch."""

    def __init__(self, slots: list[ContentSlot], user_ids: list[int]):
        self.slots = slots
        self.personal_ids = users_with_consent(Purpose.PERSONALIZATION, user_ids)
        self.purchased = purchased_items(user_ids)
        self.shared_lists: dict[tuple[int, int], list[Recommendation]] = {}

    def fill(self, user) -> list[FilledSlot]:
        """Return the user's slots with no item repeated across slots."""
        used: set[int] = set()
        excluded_base = self.purchased.get(user.pk, set())
        filled = []
        for slot in self.slots:
            excluded = used | (excluded_base if slot.exclude_purchased else set())
            chosen = self.recommend_slot(user, slot, excluded)
            used.update(rec.item.pk for rec in chosen)
            filled.append(
                FilledSlot(slot.key, slot.heading, [slot_item(rec) for rec in chosen])
            )
        return filled

    def recommend_slot(self, user, slot: ContentSlot, excluded: set[int]):
        # Ask for extra items so that the slot stays full after exclusions.
        wanted = min(MAX_N, slot.size + len(excluded))
        if user.pk in self.personal_ids:
            result = recommend(
                user, wanted, kind=slot.kind or None, category=slot.category or None
            ).items
        else:
            result = self.shared_list(slot, wanted)
        return [rec for rec in result if rec.item.pk not in excluded][: slot.size]

    def shared_list(self, slot: ContentSlot, wanted: int) -> list[Recommendation]:
        key = (slot.pk, wanted)
        if key not in self.shared_lists:
            self.shared_lists[key] = recommend(
                None, wanted, kind=slot.kind or None, category=slot.category or None
            ).items
        return self.shared_lists[key]


def purchased_items(user_ids: list[int]) -> dict[int, set[int]]:
    """Return the items each user bought or enrolled in."""
    bought: dict[int, set[int]] = defaultdict(set)
    rows = Interaction.objects.filter(
        user_id__in=user_ids, kind__in=PURCHASE_KINDS
    ).values_list("user_id", "item_id")
    for user_id, item_id in rows:
        bought[user_id].add(item_id)
    return bought


def slot_item(rec: Recommendation) -> SlotItem:
    return SlotItem(
        item_id=rec.item.pk,
        title=rec.item.title,
        kind=rec.item.kind,
        image=rec.item.image_url,
        reason=rec.reason,
    )


def add_item_details(slots_per_user: list[list[FilledSlot]]) -> None:
    """Set price and level on every slot item, with two queries in all."""
    items = [item for slots in slots_per_user for slot in slots for item in slot.items]
    ids = {item.item_id for item in items}
    products = {
        product.item_id: product for product in Product.objects.filter(item_id__in=ids)
    }
    courses = {
        course.item_id: course for course in Course.objects.filter(item_id__in=ids)
    }
    for item in items:
        if item.item_id in products:
            item.price = products[item.item_id].price
            item.currency = products[item.item_id].currency
        elif item.item_id in courses:
            item.price = courses[item.item_id].price
            item.level = courses[item.item_id].get_level_display()


def item_url(item_id: int) -> str:
    """Return the item's own URL, the only place a click may lead."""
    return Item.objects.filter(pk=item_id).values_list("url", flat=True).first() or ""
