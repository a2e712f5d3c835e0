"""Signed tokens for e-mail links: page, open pixel, click and unsubscribe.

Each purpose has its own salt, so a token made for one cannot be used for
another, and a token that was changed by a single character is rejected.
Tokens carry a timestamp, and each purpose has its own maximum age.
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
    """The user and item of a click, with the campaign and variant if any."""

    user_id: int
    item_id: int
    campaign_id: int | None
    variant_id: int | None
    delivery_id: int | None


def page_token(campaign_id: int, user_id: int) -> str:
    return sign(PAGE_SALT, campaign_id, user_id)


def read_page_token(token: str) -> tuple[int, int]:
    """Return (campaign_id, user_id) from a page link."""
    campaign_id, user_id = unsign(
        token, PAGE_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE, fields=2
    )
    return campaign_id, user_id


def open_token(delivery_id: int) -> str:
    return sign(OPEN_SALT, delivery_id)


def read_open_token(token: str) -> int:
    (delivery_id,) = unsign(
        token, OPEN_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE, fields=1
    )
    return delivery_id


def click_token(target: ClickTarget) -> str:
    return sign(
        CLICK_SALT,
        target.user_id,
        target.item_id,
        target.campaign_id,
        target.variant_id,
        target.delivery_id,
    )


def read_click_token(token: str) -> ClickTarget:
    values = unsign(token, CLICK_SALT, settings.ATTUNE_CAMPAIGN_LINK_MAX_AGE, fields=5)
    if values[0] is None or values[1] is None:
        raise InvalidToken("The click link names no user or item.")
    return ClickTarget(*values)


def unsubscribe_token(user_id: int) -> str:
    return sign(UNSUBSCRIBE_SALT, user_id)


def read_unsubscribe_token(token: str) -> int:
    (user_id,) = unsign(
        token, UNSUBSCRIBE_SALT, settings.ATTUNE_UNSUBSCRIBE_MAX_AGE, fields=1
    )
    return user_id


def sign(salt: str, *ids: int | None) -> str:
    """Return "id.id...:timestamp:signature"; an empty field stands for None.

    Plain ids with a timestamped HMAC keep the token short and cheap to
    make, which matters at a dozen links per e-mail.
    """
    value = ".".join("" if part is None else str(part) for part in ids)
    return signing.TimestampSigner(salt=salt).sign(value)


def unsign(token: str, salt: str, max_age: int, *, fields: int) -> list[int | None]:
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken(f"The link expired: {error}") from error
    except signing.BadSignature as error:
        raise InvalidToken(f"The link's signature is invalid: {error}") from error

    parts = value.split(".")
    if len(parts) != fields or not all(part.isdigit() or not part for part in parts):
        raise InvalidToken(f"The link's content {value!r} has the wrong format.")
    return [int(part) if part else None for part in parts]
