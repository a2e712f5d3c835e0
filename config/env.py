"""Read settings from the environment, failing fast with the variable's name."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
DATABASE_SCHEMES = {"mysql", "mysql2", "mariadb", "sqlite"}
BROKER_SCHEMES = {"redis", "rediss", "memory"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    """Parse a boolean variable; anything but a known spelling is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default

    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1, true, yes, on, "
        "0, false, no, off."
    )


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default

    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an integer: set it to a whole number."
        ) from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Parse a comma-separated list, dropping empty entries."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def database_from_env(name: str, sqlite_path: Path) -> dict:
    """Build the default database from a URL, or a SQLite file when unset.

    MySQL and MariaDB connections use utf8mb4 and strict mode, so that a value
    too long for its column is an error instead of a silent truncation.
    """
    url = env_str(name)
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_path),
            "OPTIONS": {"timeout": 20},
        }

    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has the scheme {scheme!r}; Attune supports "
            "mysql://user:password@host:3306/name or sqlite:///path/to/file."
        )
    if scheme in {"mysql2", "mariadb"}:
        url = "mysql" + url[len(scheme) :]
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} is not a valid database URL: {error}"
        ) from error

    if config["ENGINE"] == "django.db.backends.mysql":
        if not config.get("NAME"):
            raise ImproperlyConfigured(
                f"{name} names no database: add it after the host, as in "
                "mysql://root@127.0.0.1:3306/attune."
            )
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "isolation_level": "read committed",
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    return config


def broker_from_env(name: str) -> str:
    """Return the Celery broker URL, or an empty string to run tasks in process."""
    url = env_str(name)
    if not url:
        return ""

    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has the scheme {scheme!r}; use a Redis URL such as "
            "redis://127.0.0.1:6379/0, or leave it unset to run tasks in process."
        )
    return url


def directory_from_env(name: str, default: Path) -> Path:
    raw = env_str(name)
    path = Path(raw).expanduser() if raw else default
    if path.exists() and not path.is_dir():
        raise ImproperlyConfigured(f"{name}={str(path)!r} exists and is not a folder.")
    return path
