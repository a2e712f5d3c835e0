"""Settings shared by every environment, read from environment variables.

With no variable set, Attune runs on its embedded default: a SQLite file
under var/ and Celery tasks executed in process.
"""

import os
from pathlib import Path

from config.env import (
    broker_from_env,
    cache_url_from_env,
    database_from_env,
    directory_from_env,
    env_bool,
    env_int,
    env_list,
    env_str,
    log_level_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = directory_from_env("ATTUNE_VAR_DIR", BASE_DIR / "var")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEBUG = env_bool("DEBUG", default=False)
# The fallback key only suits the embedded demo; production.py requires one.
SECRET_KEY = env_str("SECRET_KEY") or "insecure-attune-demo-key-set-SECRET_KEY"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts",
    "catalog",
    "recommendations",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.ReconsentMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_env("DATABASE_URL", VAR_DIR / "attune.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "for-you"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "attune",
    }
}
REDIS_CACHE_URL = cache_url_from_env("REDIS_CACHE_URL")
if REDIS_CACHE_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
    }

# Celery: with no broker, tasks run eagerly in the calling process.
CELERY_BROKER_URL = broker_from_env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = (
    env_bool("CELERY_TASK_ALWAYS_EAGER", default=False) or not CELERY_BROKER_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "recommendations.tasks.train_*": {"queue": "training"},
    "recommendations.tasks.build_profiles_task": {"queue": "training"},
    "recommendations.tasks.precompute_*": {"queue": "serving"},
    "campaigns.tasks.*": {"queue": "sending"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "start-due-campaigns": {
        "task": "campaigns.tasks.start_due_campaigns_task",
        "schedule": 60.0,
    },
}
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    # Token first, so that an anonymous request gets 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Views opt in with throttle_scope; the rates below are per user (or per
    # IP address when anonymous) and kept in the default cache.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "recommendations": env_str("ATTUNE_THROTTLE_RECOMMENDATIONS") or "120/min",
        "export": env_str("ATTUNE_THROTTLE_EXPORT") or "10/hour",
        "erase": env_str("ATTUNE_THROTTLE_ERASE") or "5/hour",
        "test_send": env_str("ATTUNE_THROTTLE_TEST_SEND") or "20/hour",
    },
    # Clients cannot choose a page size with the default paginator, so this
    # is also the cap.
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("ATTUNE_API_PAGE_SIZE", 50, minimum=1),
    # One error body everywhere: {"errors": [{"code", "message", "field"}]}.
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Attune API",
    "DESCRIPTION": "Catalog, events and personalized recommendations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Trained models are written here, one folder per algorithm and version.
ARTIFACT_DIR = directory_from_env("ATTUNE_ARTIFACT_DIR", VAR_DIR / "artifacts")
# The ranker blends EASE and ALS candidates and scored best offline
# (docs/benchmarks.md); item_knn trains in a second and explains itself best.
ATTUNE_SERVING_ALGORITHM = env_str("ATTUNE_SERVING_ALGORITHM") or "ranker"
# Length of each user's precomputed list; the serving function filters it
# by type, category and newly seen items, so it is longer than a page.
ATTUNE_PRECOMPUTE_LENGTH = env_int("ATTUNE_PRECOMPUTE_LENGTH", 100, minimum=10)
# EASE inverts an items x items float64 matrix (about 13 bytes per item pair
# at peak): 15,000 items take about 2.9 GB and, on 2 cores, about 4 minutes.
# Fitting above this raises a clear error.
ATTUNE_EASE_MAX_ITEMS = env_int("ATTUNE_EASE_MAX_ITEMS", 15_000, minimum=1)
ATTUNE_DEMO_PASSWORD = env_str("ATTUNE_DEMO_PASSWORD") or "attune-demo"
ATTUNE_POLICY_VERSION = env_str("ATTUNE_POLICY_VERSION") or "2026-01"

# E-mail: SMTP by default, so any provider works; the variables name the server.
EMAIL_BACKEND = (
    env_str("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "127.0.0.1"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Attune <offers@attune.example>"
# Public address of the site, for absolute links in e-mails; List-Unsubscribe
# needs https, and the campaigns app warns when it is not.
ATTUNE_SITE_URL = env_str("ATTUNE_SITE_URL") or "https://localhost:8000"
# Seconds a signed page, click or open link stays valid (30 days), and an
# unsubscribe link (one year, since old e-mails still get read).
ATTUNE_CAMPAIGN_LINK_MAX_AGE = env_int(
    "ATTUNE_CAMPAIGN_LINK_MAX_AGE", 30 * 24 * 3600, minimum=60
)
ATTUNE_UNSUBSCRIBE_MAX_AGE = env_int(
    "ATTUNE_UNSUBSCRIBE_MAX_AGE", 365 * 24 * 3600, minimum=60
)

ATTUNE_LOG_LEVEL = log_level_from_env("ATTUNE_LOG_LEVEL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "accounts": {"level": ATTUNE_LOG_LEVEL},
        "catalog": {"level": ATTUNE_LOG_LEVEL},
        "recommendations": {"level": ATTUNE_LOG_LEVEL},
        "campaigns": {"level": ATTUNE_LOG_LEVEL},
    },
}
