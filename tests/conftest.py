import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from recommendations import registry

DATA_DIR = Path(__file__).parent / "data"
SLICE_DIR = DATA_DIR / "ml-100k-slice"
CSV_DIR = DATA_DIR / "csv-slice"


@pytest.fixture(autouse=True)
def empty_cache():
    """Start each test with an empty cache, so throttle counters do not leak."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def artifact_dir(settings, tmp_path):
    """Give every test its own artifact folder and an empty model cache."""
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    registry.clear_cache()
    yield settings.ARTIFACT_DIR
    registry.clear_cache()


@pytest.fixture
def movielens_slice(db):
    """Import the 40-user slice of MovieLens 100K in the ml-100k layout."""
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")


@pytest.fixture
def trained_slice(movielens_slice):
    """The slice with profiles built, models trained and lists precomputed."""
    call_command("train")


@pytest.fixture
def slice_copy(tmp_path):
    """A writable copy of the ml-100k slice, for tests that corrupt files."""
    target = tmp_path / "ml-100k"
    shutil.copytree(SLICE_DIR, target)
    return target


@pytest.fixture
def api_client():
    return APIClient()
