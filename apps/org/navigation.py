"""The sidebar: apps register their entries here, so the shell never imports a domain app.

from apps.org.navigation import MenuItem, register
register(MenuItem(group="crm", key="customers", label=_("Customers"),
                  url_name="customers:list", icon="people", perm="customers.view_customer"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    # badge(user) -> int | None; must be cheap (one COUNT at most).
    badge: Callable | None = field(default=None, compare=False)

    def allowed(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if self.staff_only and not user.is_staff:
            return False
        return self.perm is None or user.has_perm(self.perm)


_items: dict[str, MenuItem] = {}


def register(item: MenuItem) -> None:
    _items[item.key] = item


def menu_for(user, current_path: str = "") -> list[dict]:
    """The groups and entries `user` may see, in order; empty groups are left out."""
    groups = []
    for key, label in GROUPS:
        entries = []
        for item in sorted(
            (i for i in _items.values() if i.group == key), key=lambda i: (i.order, i.key)
        ):
            if not item.allowed(user):
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            entries.append(
                {
                    "key": item.key,
                    "label": item.label,
                    "url": url,
                    "icon": item.icon,
                    "active": current_path == url or (url != "/" and current_path.startswith(url)),
                    "badge": item.badge(user) if item.badge else None,
                }
            )
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
