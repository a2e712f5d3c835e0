"""Render a variant's templates for one recipient into an e-mail message."""

import functools
from dataclasses import dataclass

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateSyntaxError, engines
from django.template.backends.django import Template
from django.template.loader import get_template
from django.urls import reverse

from campaigns import tokens
from campaigns.content import FilledSlot
from campaigns.models import Campaign, Variant

FIRST_NAME_FALLBACK = "there"
TOKEN_PLACEHOLDER = "TOKEN"
INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass
class CompiledVariant:
    """A variant's templates parsed once and reused for every recipient."""

    variant_id: int | None
    subject: Template
    html: Template
    text: Template


@dataclass
class RenderedMessage:
    subject: str
    html: str
    text: str
    unsubscribe_url: str


def absolute_url(path: str) -> str:
    """Return path on the public site, for links that leave in e-mails."""
    return settings.ATTUNE_SITE_URL.rstrip("/") + path


@functools.cache
def link_pattern(name: str) -> tuple[str, str]:
    """Return the path of a token URL split around the token.

    reverse() costs tens of microseconds, and an e-mail has a dozen links.
    """
    prefix, _, suffix = reverse(name, args=[TOKEN_PLACEHOLDER]).partition(
        TOKEN_PLACEHOLDER
    )
    return prefix, suffix


def token_url(name: str, token: str) -> str:
    prefix, suffix = link_pattern(name)
    return absolute_url(prefix + token + suffix)


def compile_variant(variant: Variant) -> CompiledVariant:
    """Parse the subject and bodies; raise ValueError naming a broken template."""
    engine = engines["django"]
    compiled = {}
    for name in ("subject", "html_body", "text_body"):
        try:
            compiled[name] = engine.from_string(getattr(variant, name))
        except TemplateSyntaxError as error:
            raise ValueError(
                f"The {name} template of variant {variant.pk} ({variant.name}) "
                f"is invalid: {error}. Fix it in the campaign's admin page."
            ) from error
    return CompiledVariant(
        variant.pk, compiled["subject"], compiled["html_body"], compiled["text_body"]
    )


def message_context(
    campaign: Campaign,
    user,
    slots: list[FilledSlot],
    *,
    variant_id: int | None,
    delivery_id: int | None,
) -> dict:
    """Build the per-recipient context with signed links in place."""
    for slot in slots:
        for item in slot.items:
            target = tokens.ClickTarget(
                user.pk, item.item_id, campaign.pk, variant_id, delivery_id
            )
            item.link = token_url("campaigns:click", tokens.click_token(target))

    page_path = reverse("campaigns:page", args=[campaign.slug])
    page_token = tokens.page_token(campaign.pk, user.pk)
    unsubscribe_url = token_url(
        "campaigns:unsubscribe", tokens.unsubscribe_token(user.pk)
    )
    open_pixel_url = ""
    if delivery_id is not None:
        open_pixel_url = token_url("campaigns:open", tokens.open_token(delivery_id))
    return {
        "first_name": user.first_name.strip() or FIRST_NAME_FALLBACK,
        "campaign_name": campaign.name,
        "slots": {slot.key: slot for slot in slots},
        "slot_list": slots,
        "page_url": absolute_url(f"{page_path}?t={page_token}"),
        "unsubscribe_url": unsubscribe_url,
        "open_pixel_url": open_pixel_url,
    }


def render_message(compiled: CompiledVariant, context: dict) -> RenderedMessage:
    """Render subject, text and HTML, add the footer and inline the CSS."""
    subject = " ".join(compiled.subject.render(context).split())
    text = compiled.text.render(context)
    text += get_template("campaigns/email_footer.txt").render(context)
    html = compiled.html.render(context)
    footer = get_template("campaigns/email_footer.html").render(context)
    html = insert_before_body_end(html, footer)
    return RenderedMessage(
        subject, INLINER.inline(html), text, context["unsubscribe_url"]
    )


def insert_before_body_end(html: str, fragment: str) -> str:
    position = html.lower().rfind("</body>")
    if position < 0:
        return html + fragment
    return html[:position] + fragment + html[position:]


def build_email(
    campaign: Campaign, rendered: RenderedMessage, to: str, connection=None
) -> EmailMultiAlternatives:
    """Return the message with the one-click unsubscribe headers of RFC 8058."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=campaign.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Attune-Campaign": campaign.slug,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
