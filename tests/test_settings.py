"""Settings read from the environment fail fast on bad values."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parent.parent


def test_bool_rejects_unknown_spelling(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env.env_bool("DEBUG")


def test_database_url_rejects_unknown_scheme(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "oracle://db/attune")

    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has the scheme"):
        env.database_from_env("DATABASE_URL", tmp_path / "db.sqlite3")


def test_database_url_requires_database_name(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1:3306/")

    with pytest.raises(ImproperlyConfigured, match="names no database"):
        env.database_from_env("DATABASE_URL", tmp_path / "db.sqlite3")


def test_mysql_url_uses_utf8mb4_and_strict_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1:3306/attune")

    config = env.database_from_env("DATABASE_URL", tmp_path / "db.sqlite3")

    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["OPTIONS"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in config["OPTIONS"]["init_command"]


def test_no_database_url_means_sqlite(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    config = env.database_from_env("DATABASE_URL", tmp_path / "db.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"


def test_broker_url_rejects_unknown_scheme(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "http://127.0.0.1:6379")

    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL has the scheme"):
        env.broker_from_env("CELERY_BROKER_URL")


def test_int_names_variable(monkeypatch):
    monkeypatch.setenv("ATTUNE_PRECOMPUTE_LENGTH", "lots")

    with pytest.raises(ImproperlyConfigured, match="ATTUNE_PRECOMPUTE_LENGTH='lots'"):
        env.env_int("ATTUNE_PRECOMPUTE_LENGTH", 100)


def test_bad_value_fails_at_start_up(tmp_path):
    """manage.py check exits with the variable's name in the message."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "perhaps",
            "ATTUNE_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_no_environment_runs_tasks_in_process(settings):
    from config.celery import app

    if settings.CELERY_BROKER_URL:
        pytest.skip("a broker is configured for this run")
    assert app.conf.task_always_eager


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REDIS_CACHE_URL", "http://x", "REDIS_CACHE_URL has the scheme 'http'"),
        ("CELERY_TASK_ALWAYS_EAGER", "maybe", "CELERY_TASK_ALWAYS_EAGER='maybe'"),
        ("ATTUNE_LOG_LEVEL", "loud", "ATTUNE_LOG_LEVEL='LOUD' is not a log level"),
        (
            "DATABASE_URL",
            "mysql://root@127.0.0.1:port/x",
            "DATABASE_URL has an invalid port",
        ),
        ("DATABASE_URL", "sqlite://", "DATABASE_URL names no SQLite file"),
        ("ATTUNE_SERVING_ALGORITHM", "bogus", "ATTUNE_SERVING_ALGORITHM='bogus'"),
    ],
)
def test_check_names_bad_variable(tmp_path, variable, value, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ATTUNE_VAR_DIR": str(tmp_path), variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert message in result.stderr
