"""Tracked links for recommended items on pages outside a campaign."""

from django import template
from django.urls import reverse

from campaigns import tokens

register = template.Library()


@register.simple_tag(takes_context=True)
def tracked_item_url(context, item) -> str:
    """Return a signed redirect to item's URL that records the click.

    Anonymous visitors get the item's URL itself, because a click without a
    user cannot be recorded as an interaction.
    """
    user = context["request"].user
    if not user.is_authenticated:
        return item.url
    target = tokens.ClickTarget(user.pk, item.pk, None, None, None)
    return reverse("campaigns:click", args=[tokens.click_token(target)])
