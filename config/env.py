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
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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

    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has the scheme {scheme!r}; Attune supports "
            "mysql://user:password@host:3306/name or sqlite:///path/to/file."
        )
    check_port(name, parts)
    if scheme == "sqlite" and parts.path in {"", "/", "/:memory:"}:
        raise ImproperlyConfigured(
            f"{name} names no SQLite file, and an in-memory database would be "
            "empty for every command: use sqlite:////absolute/path/attune.sqlite3."
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


def check_port(name: str, parts) -> None:
    try:
        parts.port  # noqa: B018 - reading it validates the number
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} has an invalid port in {parts.netloc!r}: use a number "
            "from 1 to 65535, as in 127.0.0.1:3306."
        ) from None


def broker_from_env(name: str) -> str:
    """Return the Celery broker URL, or an empty string to run tasks in process."""
    return redis_url_from_env(
        name, BROKER_SCHEMES, "or leave it unset to run tasks in process"
    )


def redis_url_from_env(name: str, schemes: set[str], unset_hint: str) -> str:
    url = env_str(name)
    if not url:
        return ""

    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} has the scheme {parts.scheme!r}; use a Redis URL such as "
            f"redis://127.0.0.1:6379/0, {unset_hint}."
        )
    check_port(name, parts)
    return url


def cache_url_from_env(name: str) -> str:
    """Return a Redis URL for Django's cache, or an empty string for memory."""
    return redis_url_from_env(
        name, {"redis", "rediss"}, "or leave it unset for an in-process cache"
    )


def log_level_from_env(name: str, default: str = "INFO") -> str:
    level = env_str(name).upper() or default
    if level not in LOG_LEVELS:
        raise ImproperlyConfigured(
            f"{name}={level!r} is not a log level: use one of {', '.join(LOG_LEVELS)}."
        )
    return level


def directory_from_env(name: str, default: Path) -> Path:
    """Return the folder the variable names, creating it when missing."""
    raw = env_str(name)
    path = Path(raw).expanduser() if raw else default
    if path.exists() and not path.is_dir():
        raise ImproperlyConfigured(f"{name}={str(path)!r} exists and is not a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImproperlyConfigured(
            f"{name}={str(path)!r} cannot be created ({error.strerror}): point "
            "it at a writable folder."
        ) from None
    return path
