"""The to-do registry: every app adds what waits for a user; the inbox (apps.tasks) lists it.

No app imports the inbox (DESIGN §1): providers register here, in the foundation, from their
own `AppConfig.ready()`:

    from apps.org.todos import TodoItem, TodoProvider, register_provider

    def approvals_waiting(user, limit):
        qs = pending_tasks_for(user).annotate(total=Window(Count("pk")))[:limit]
        rows = list(qs)  # one query: the rows and, on each, the total
        items = [TodoItem(kind="approval", title=..., url=..., due_at=None, object_id=t.pk)
                 for t in rows]
        return TodoPage(count=rows[0].total if rows else 0, items=items)

    register_provider(TodoProvider(kind="approval", label=_("Approvals"), icon="check2-square",
                                   fetch=approvals_waiting, perm="approvals.view_approvalrequest"))

A provider's `fetch(user, limit)` returns a `TodoPage`: how many items wait in all and the first
`limit` of them, soonest due first. It must cost at most one query (a window COUNT over the
limited rows does both), so the inbox stays one query per kind however many apps plug in.
`limit=0` asks for the count alone (a plain COUNT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TodoItem:
    kind: str  # the provider's kind, e.g. "approval", "task", "follow_up"
    title: str
    url: str  # where the item is done
    due_at: dt.datetime | None = None
    object_id: int | None = None
    subtitle: str = ""
    overdue: bool = False


@dataclass(frozen=True)
class TodoPage:
    count: int
    items: list[TodoItem] = field(default_factory=list)


@dataclass(frozen=True)
class TodoProvider:
    kind: str
    label: str
    fetch: Callable  # fetch(user, limit: int) -> TodoPage, at most one query
    icon: str = "check2-circle"
    perm: str | None = None  # the user needs this model permission to get the kind at all
    order: int = 100

    def allowed(self, user) -> bool:
        return user.is_authenticated and (self.perm is None or user.has_perm(self.perm))


_providers: dict[str, TodoProvider] = {}


def register_provider(provider: TodoProvider) -> None:
    _providers[provider.kind] = provider


def unregister_provider(kind: str) -> None:
    _providers.pop(kind, None)


def providers_for(user) -> list[TodoProvider]:
    """The providers `user` may see, in display order."""
    return sorted(
        (p for p in _providers.values() if p.allowed(user)), key=lambda p: (p.order, p.kind)
    )


def window_page(qs, limit: int, to_item: Callable) -> TodoPage:
    """The `TodoPage` of an ordered queryset in one query: the first `limit` rows, each carrying
    the full count in a window `COUNT(*) OVER ()` (computed before the LIMIT); `limit=0` is a
    plain COUNT. `to_item(row) -> TodoItem` may read only what `qs` selected (no query)."""
    from django.db.models import Count, Window

    if limit <= 0:
        return TodoPage(count=qs.count())
    rows = list(qs.annotate(todo_total=Window(Count("pk")))[:limit])
    return TodoPage(count=rows[0].todo_total if rows else 0, items=[to_item(r) for r in rows])
