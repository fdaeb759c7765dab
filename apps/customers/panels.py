"""Plug-in points of the 360° customer page: panels and timeline sources from other apps.

The customers app imports no other domain app (DESIGN §1); sales, tasks, docs and approvals
add their part of the 360° page from their own `AppConfig.ready()`:

    from apps.customers.panels import Panel, register_panel, register_timeline_source

    def opportunities_panel(user, customer):
        rows = list(Opportunity.objects.visible_to(user).filter(customer=customer)[:10])
        return Panel(title=_("Opportunities"), template="sales/_customer_panel.html",
                     context={"rows": rows}, count=len(rows), order=20)

    register_panel("opportunities", opportunities_panel)

A panel callable gets the user and the (visible) customer and returns a `Panel` or None (no
panel for this user); it must honour the user's scope and cost one or two queries. A timeline
source returns `TimelineItem`s for the feed (`customers/{id}/timeline/` and the page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

_panels: dict[str, tuple[int, Callable]] = {}
_timeline_sources: dict[str, Callable] = {}


@dataclass
class Panel:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100
    count: int | None = None
    url: str = ""
    icon: str = "square"
    key: str = ""


@dataclass
class TimelineItem:
    at: dt.datetime
    kind: str  # e.g. "follow_up.call", "event.claimed", "sales.opportunity_won"
    title: str
    body: str = ""
    actor: object = None  # a User or None
    url: str = ""
    source: str = "customers"
    object_id: int | None = None
    payload: dict = field(default_factory=dict)


def register_panel(key: str, panel: Callable, *, order: int = 100) -> None:
    """`panel(user, customer) -> Panel | None`; `order` sorts panels without their own."""
    _panels[key] = (order, panel)


def unregister_panel(key: str) -> None:
    _panels.pop(key, None)


def panels_for(user, customer) -> list[Panel]:
    out = []
    for key, (order, make) in _panels.items():
        panel = make(user, customer)
        if panel is None:
            continue
        panel.key = panel.key or key
        if panel.order == 100 and order != 100:
            panel.order = order
        out.append(panel)
    return sorted(out, key=lambda p: (p.order, p.key))


def register_timeline_source(key: str, source: Callable) -> None:
    """`source(user, customer, limit, before) -> list[TimelineItem]` (newest first, at most
    `limit`, all older than `before` when given)."""
    _timeline_sources[key] = source


def unregister_timeline_source(key: str) -> None:
    _timeline_sources.pop(key, None)


def timeline_sources() -> list[Callable]:
    return list(_timeline_sources.values())
