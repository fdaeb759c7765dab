"""ResilientRedisCache: with Redis unreachable, reads miss and cache fills are skipped (the
request recomputes from the database); invalidations still fail loudly."""

from __future__ import annotations

import pytest

from apps.org.cache import ResilientRedisCache

# Nothing listens on port 1: every command is a refused connection, as during a restart.
DOWN = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache():
    return ResilientRedisCache(DOWN, {"OPTIONS": {"socket_connect_timeout": 0.5}})


def test_reads_miss_and_fills_are_skipped(cache, caplog):
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("k") is False
    cache.set("k", 1)
    cache.set("k", 1, None)
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.add("k", 1, None) is False
    assert "cache unreachable" in caplog.text


def test_invalidations_still_raise(cache):
    from redis.exceptions import ConnectionError as RedisConnectionError

    with pytest.raises(RedisConnectionError):
        cache.delete("k")
    with pytest.raises(RedisConnectionError):
        cache.incr("k")


def test_settings_use_it_for_a_redis_cache_url():
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'])",
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "CACHE_URL": "redis://127.0.0.1:6379/5",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "apps.org.cache.ResilientRedisCache"


def test_field_policies_come_from_the_database_when_redis_is_down(monkeypatch, cache, db):
    """What failed with 500s in the Redis restart drill: a request's field-policy lookup."""
    from django.contrib.contenttypes.models import ContentType

    from apps.customers.models import Customer
    from apps.org import fields
    from apps.org.models import FieldPolicy

    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        field_name="phone",
        restrict_view=True,
        restrict_change=True,
    )
    monkeypatch.setattr(fields, "cache", cache)
    assert fields.policies_for(Customer)["phone"] == (True, True)
