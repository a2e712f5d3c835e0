"""Production settings: secrets from the environment, HTTPS only.

SECRET_KEY and ALLOWED_HOSTS must be set; a missing or placeholder value
stops start-up with the variable's name. The result passes
`manage.py check --deploy --fail-level WARNING`, which CI runs.
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *  # noqa: F403

PLACEHOLDER_KEYS = {"insecure-attune-demo-key-set-SECRET_KEY", "change-me"}


def required_env(name: str, hint: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: {hint}")
    return value


DEBUG = False
SECRET_KEY = required_env(
    "SECRET_KEY",
    "set it to a random string of at least 50 characters, for example the "
    "output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
)
if SECRET_KEY in PLACEHOLDER_KEYS:
    raise ImproperlyConfigured("SECRET_KEY is a placeholder: set a random value.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set: list the site's host names, comma-separated."
    )

# HTTPS everywhere. Behind a proxy that ends TLS, set
# SECURE_PROXY_SSL_HEADER_NAME (such as HTTP_X_FORWARDED_PROTO) so that
# Django reads the original scheme and the redirect does not loop.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER_NAME")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# HSTS: one year by default. Preloading is a promise to browsers that every
# subdomain serves HTTPS; set SECURE_HSTS_PRELOAD=false before the first
# deployment if that promise cannot be kept.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=1)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

# Links to other sites carry no referrer at all.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
