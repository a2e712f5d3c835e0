"""System checks on the settings that e-mail links are built from."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register


@register()
def check_site_url(app_configs, **kwargs):
    url = settings.ATTUNE_SITE_URL
    if urlsplit(url).scheme == "https":
        return []
    return [
        Warning(
            f"ATTUNE_SITE_URL={url!r} is not an https address, so the "
            "List-Unsubscribe links in campaign e-mails are not https.",
            hint="Set ATTUNE_SITE_URL to the public https address of the site.",
            id="campaigns.W001",
        )
    ]
