"""Fill a campaign's content slots from the serving function, a batch at a time.

The serving function's batch form is the only source of items, so a batch
of recipients costs a few queries per slot rather than a few per recipient.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from campaigns.models import ContentSlot
from catalog.models import Course, Item, Product
from recommendations.models import Interaction, InteractionKind
from recommendations.services import Recommendation, ServingBatch

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
    """Fill the slots of a batch of users with a few queries per slot."""

    def __init__(self, slots: list[ContentSlot], users: list):
        self.slots = slots
        self.users = users
        self.purchased = purchased_items([user.pk for user in users])

    def fill(self) -> dict[int, list[FilledSlot]]:
        """Return each user's slots, by user id, with no item repeated across slots.

        One ServingBatch reads the users' serving state once, and each slot
        requests items for all the users at once, leaving out what earlier slots
        chose and, for slots set to exclude purchases, what the user already bought.
        """
        serving = ServingBatch(self.users)
        used: dict[int, set[int]] = {user.pk: set() for user in self.users}
        filled: dict[int, list[FilledSlot]] = {user.pk: [] for user in self.users}
        for slot in self.slots:
            exclude = {
                user_id: items | self.purchased.get(user_id, set())
                if slot.exclude_purchased
                else items
                for user_id, items in used.items()
            }
            lists = serving.recommend(
                slot.size,
                kind=slot.kind or None,
                category=slot.category or None,
                exclude=exclude,
            )
            for user, result in zip(self.users, lists, strict=True):
                used[user.pk].update(rec.item.pk for rec in result)
                filled[user.pk].append(
                    FilledSlot(
                        slot.key, slot.heading, [slot_item(rec) for rec in result]
                    )
                )
        return filled


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
