"""Signed tokens for e-mail links: page, open pixel, click and unsubscribe.

Each purpose has its own salt, so a token made for one cannot be used for
another, and a token that was changed by a single character is rejected.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

PAGE_SALT = "attune.campaigns.page"
OPEN_SALT = "attune.campaigns.open"
CLICK_SALT = "attune.campaigns.click"
UNSUBSCRIBE_SALT = "attune.campaigns.unsubscribe"


class InvalidToken(Exception):
    """A token that is tampered with, expired or made for another purpose."""


@dataclass(frozen=True)
class ClickTarget:
    """Who clicked which item, from which campaign and variant (both optional)."""

    user_id: int
    item_id: int
    campaign_id: int | None
    variant_id: int | None
    delivery_id: int | None


def page_token(campaign_id: int, user_id: int) -> str:
    return signing.dumps([campaign_id, user_id], salt=PAGE_SALT, compress=True)


def read_page_token(token: str) -> tuple[int, int]:
    """Return (campaign_id, user_id) from a page link."""
    return tuple(load(token, PAGE_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE))


def open_token(delivery_id: int) -> str:
    return signing.dumps(delivery_id, salt=OPEN_SALT)


def read_open_token(token: str) -> int:
    return int(load(token, OPEN_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE))


def click_token(target: ClickTarget) -> str:
    values = [
        target.user_id,
        target.item_id,
        target.campaign_id,
        target.variant_id,
        target.delivery_id,
    ]
    return signing.dumps(values, salt=CLICK_SALT, compress=True)


def read_click_token(token: str) -> ClickTarget:
    values = load(token, CLICK_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE)
    return ClickTarget(*values)


def unsubscribe_token(user_id: int) -> str:
    return signing.dumps(user_id, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> int:
    return int(load(token, UNSUBSCRIBE_SALT, settings.ATTUNE_UNSUBSCRIBE_MAX_AGE))


def load(token: str, salt: str, max_age: int):
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken(f"The link expired: {error}") from error
    except signing.BadSignature as error:
        raise InvalidToken(f"The link's signature is invalid: {error}") from error
