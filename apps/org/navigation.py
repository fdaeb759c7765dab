"""The sidebar: apps register their entries here, so the shell never imports a domain app.

from apps.org.navigation import MenuItem, register
register(MenuItem(group="crm", key="customers", label=_("Customers"),
                  url_name="customers:list", icon="people", perm="customers.view_customer"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

GROUPS: list[tuple[str, str]] = [
    ("main", _("Workspace")),
    ("crm", _("CRM")),
    ("oa", _("OA")),
    ("reports", _("Reports")),
    ("admin", _("Admin")),
]


@dataclass(frozen=True)
class MenuItem:
    group: str
    key: str
    label: str
    url_name: str
    icon: str = "circle"
    perm: str | None = None
    staff_only: bool = False
    order: int = 100
    # badge(user) -> int | None; must be cheap (one COUNT at most). Its value is cached per
    # user for `badge_ttl` seconds (0: computed on every page); `badges_changed(user)` drops
    # the cached values when an action is known to change them.
    badge: Callable | None = field(default=None, compare=False)
    badge_ttl: int = 45

    def allowed(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if self.staff_only and not user.is_staff:
            return False
        return self.perm is None or user.has_perm(self.perm)


_items: dict[str, MenuItem] = {}


def register(item: MenuItem) -> None:
    _items[item.key] = item


_BADGE_KEY = "weft:badge:{user}:{key}"
_BADGE_NONE = "none"  # the cache cannot tell a stored None from a miss


def _badge_key(user_id, key: str) -> str:
    return _BADGE_KEY.format(user=user_id, key=key)


def badges_changed(user, keys: list[str] | None = None) -> None:
    """Forget the user's cached menu badges (all, or the items named in `keys`)."""
    user_id = getattr(user, "pk", user)
    names = keys if keys is not None else [i.key for i in _items.values() if i.badge]
    cache.delete_many([_badge_key(user_id, k) for k in names])


def _badges(user, items: list[MenuItem]) -> dict[str, int | None]:
    """Badge values for `items`, from the cache where fresh (one cache round trip) and
    computed for the rest. The shell shows them on every page; counting approvals and
    announcements on every click cost 3–4 queries a page for numbers that change rarely."""
    with_badge = [i for i in items if i.badge]
    if not with_badge:
        return {}
    cached_items = [i for i in with_badge if i.badge_ttl > 0]
    found = cache.get_many([_badge_key(user.pk, i.key) for i in cached_items])
    values: dict[str, int | None] = {}
    by_ttl: dict[int, dict[str, object]] = {}
    for item in with_badge:
        ck = _badge_key(user.pk, item.key)
        if item.badge_ttl > 0 and ck in found:
            value = found[ck]
            values[item.key] = None if value == _BADGE_NONE else value
            continue
        value = item.badge(user)
        values[item.key] = value
        if item.badge_ttl > 0:
            by_ttl.setdefault(item.badge_ttl, {})[ck] = _BADGE_NONE if value is None else value
    for ttl, entries in by_ttl.items():
        cache.set_many(entries, ttl)
    return values


def menu_for(user, current_path: str = "") -> list[dict]:
    """The groups and entries `user` may see, in order; empty groups are left out."""
    allowed: list[tuple[MenuItem, str]] = []
    for key, _label in GROUPS:
        for item in sorted(
            (i for i in _items.values() if i.group == key), key=lambda i: (i.order, i.key)
        ):
            if not item.allowed(user):
                continue
            try:
                allowed.append((item, reverse(item.url_name)))
            except NoReverseMatch:
                continue
    badges = _badges(user, [item for item, _url in allowed])
    groups = []
    for key, label in GROUPS:
        entries = [
            {
                "key": item.key,
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "active": current_path == url or (url != "/" and current_path.startswith(url)),
                "badge": badges.get(item.key),
            }
            for item, url in allowed
            if item.group == key
        ]
        if entries:
            groups.append({"key": key, "label": label, "entries": entries})
    return groups


def register_core_entries() -> None:
    register(
        MenuItem(group="main", key="home", label=_("Home"), url_name="home", icon="house", order=0)
    )
    register(
        MenuItem(
            group="admin",
            key="people",
            label=_("People"),
            url_name="org:people",
            icon="diagram-3",
            perm="org.view_user",
            order=10,
        )
    )
    register(
        MenuItem(
            group="admin",
            key="admin-site",
            label=_("Administration"),
            url_name="admin:index",
            icon="gear",
            staff_only=True,
            order=90,
        )
    )
    register(
        MenuItem(
            group="admin",
            key="api-docs",
            label=_("API documentation"),
            url_name="api-docs",
            icon="braces",
            order=95,
        )
    )


# Home panels: apps add cards to the home page; each callable(request) returns None or
# {"title", "template", "context", "order"}. No panel may run more than a couple of queries.
_home_panels: dict[str, Callable] = {}


def register_home_panel(key: str, panel: Callable) -> None:
    _home_panels[key] = panel


def home_panels() -> list[Callable]:
    return list(_home_panels.values())
