"""The sidebar registry: entries a user may see, and menu badges cached per user."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.org import navigation
from apps.org.navigation import MenuItem, badges_changed, menu_for
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted():
    """Two badge entries whose badge functions count their calls; removed afterwards."""
    calls = {"cached": 0, "live": 0}
    values = {"cached": 3, "live": None}

    def cached_badge(user):
        calls["cached"] += 1
        return values["cached"]

    def live_badge(user):
        calls["live"] += 1
        return values["live"]

    items = [
        MenuItem(group="main", key="t-cached", label="C", url_name="home", badge=cached_badge),
        MenuItem(
            group="main", key="t-live", label="L", url_name="home", badge=live_badge, badge_ttl=0
        ),
        MenuItem(group="main", key="t-staff", label="S", url_name="home", staff_only=True),
    ]
    for item in items:
        navigation.register(item)
    yield calls, values
    for item in items:
        navigation._items.pop(item.key, None)
    cache.clear()


def entries(menu) -> dict[str, dict]:
    return {e["key"]: e for g in menu for e in g["entries"]}


def test_badges_are_cached_per_user_until_changed(counted):
    calls, values = counted
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    assert entries(menu_for(alice))["t-cached"]["badge"] == 3
    values["cached"] = 5
    assert entries(menu_for(alice))["t-cached"]["badge"] == 3  # cached
    assert calls["cached"] == 1
    assert entries(menu_for(bob))["t-cached"]["badge"] == 5  # per user
    badges_changed(alice)
    assert entries(menu_for(alice))["t-cached"]["badge"] == 5
    assert calls["cached"] == 3
    badges_changed(alice.pk, keys=["t-cached"])
    values["cached"] = None  # "no badge" is cached too, not recomputed
    assert entries(menu_for(alice))["t-cached"]["badge"] is None
    assert entries(menu_for(alice))["t-cached"]["badge"] is None
    assert calls["cached"] == 4


def test_badge_ttl_zero_is_computed_on_every_page(counted):
    calls, values = counted
    alice = UserFactory(username="alice")
    menu_for(alice)
    values["live"] = 7
    assert entries(menu_for(alice))["t-live"]["badge"] == 7
    assert calls["live"] == 2


def test_entries_keep_their_rules_and_order(counted):
    alice = UserFactory(username="alice")
    menu = menu_for(alice, current_path="/")
    found = entries(menu)
    assert "t-staff" not in found and "admin-site" not in found
    assert found["home"]["active"] is True and found["home"]["badge"] is None
    assert [g["key"] for g in menu] == [
        k for k, _label in navigation.GROUPS if k in {g["key"] for g in menu}
    ]
    main = next(g for g in menu if g["key"] == "main")["entries"]
    assert main[0]["key"] == "home"  # order 0 first
    staff = UserFactory(username="root", is_staff=True)
    assert "t-staff" in entries(menu_for(staff))


def test_options_tag_renders_escaped_options_with_the_selection():
    from django.template import Context, Template

    alice = UserFactory(username="alice", display_name="<Alice>")
    html = Template("{% load weft %}{% options pairs f %}|{% options users sel %}").render(
        Context({"pairs": [("A", "A & co"), (2, "two")], "f": "2", "users": [alice], "sel": ""})
    )
    left, right = html.split("|")
    assert left == '<option value="A">A &amp; co</option><option value="2" selected>two</option>'
    assert right == f'<option value="{alice.pk}">&lt;Alice&gt;</option>'
