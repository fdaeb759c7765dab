"""Fixtures shared by every test (tests/e2e has its own on top)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient


def _is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config):
    # WhiteNoise warns once per request when STATIC_ROOT was never collected (tests don't).
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests need PostgreSQL; on any other database they are skipped."""
    if _is_postgres():
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    skip = pytest.mark.skip(
        reason=f"needs PostgreSQL (set DATABASE_URL=postgres://...); database is {engine}"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Field policies and custom-field definitions are cached in Django's cache under a
    generation counter; a rolled-back test must not leave rows behind for the next one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(request, settings):
    """Fast password hashing, and English messages so assertions read like the source
    (browser tests keep the product's default language: they run as a Chinese user would)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Uploads made by tests never land in the project folder.
    media = request.getfixturevalue("tmp_path_factory").mktemp("media")
    settings.MEDIA_ROOT = str(media / "public")
    settings.PRIVATE_MEDIA_ROOT = str(media / "private")
    if request.node.get_closest_marker("e2e"):
        yield
        return
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def password() -> str:
    """The password every UserFactory user has."""
    from tests.org.factories import PASSWORD

    return PASSWORD


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    from tests.org.factories import UserFactory

    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def other_user(db):
    from tests.org.factories import UserFactory

    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def staff_user(db):
    from tests.org.factories import UserFactory

    return UserFactory(username="staffer", is_staff=True)


@pytest.fixture
def user_client(api_client, user) -> APIClient:
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def full_disk(monkeypatch):
    """The upload disk fills mid-write: Django's FileSystemStorage writes the first chunk to
    the final path, then the next write fails with ENOSPC (a half-written file is left, as on a
    real full disk). Returns the paths that were attempted. bench/faults.py does the same on a
    real, small filesystem."""
    import errno
    import os

    from django.core.files.storage import FileSystemStorage

    attempted: list[str] = []

    def _save(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        attempted.append(path)
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", _save)
    return attempted
