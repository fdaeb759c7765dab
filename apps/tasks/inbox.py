"""The one to-do inbox: what every registered provider (apps.org.todos) has waiting for a user.

The inbox imports no domain app: it only asks the registry. Cost: one query per provider
(each provider's contract), plus the user's permission and scope caches once per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.org.todos import TodoItem, TodoPage, TodoProvider, providers_for

PREVIEW = 5  # items per kind on the "all" page and the home panel
_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass
class Section:
    provider: TodoProvider
    page: TodoPage

    @property
    def kind(self) -> str:
        return self.provider.kind

    @property
    def count(self) -> int:
        return self.page.count


def provider(user, kind: str) -> TodoProvider | None:
    return next((p for p in providers_for(user) if p.kind == kind), None)


def counts(user) -> list[tuple[TodoProvider, int]]:
    """(provider, count) for every kind the user gets — one COUNT per provider, once per
    request (memoised on the user object: the menu badge and the home panel share it)."""
    memo = getattr(user, "_weft_todo_counts", None)
    if memo is None:
        memo = [(p, p.fetch(user, 0).count) for p in providers_for(user)]
        user._weft_todo_counts = memo
    return memo


def total(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return sum(n for _p, n in counts(user))


def sections(user, limit: int = PREVIEW) -> list[Section]:
    """Every kind with its count and first `limit` items (one query per provider)."""
    return [Section(p, p.fetch(user, limit)) for p in providers_for(user)]


def sort_key(item: TodoItem):
    # Soonest due first; items without a due time after those with one.
    return (item.due_at is None, item.due_at or _FAR)


def items(user, *, kind: str | None = None, offset: int = 0, limit: int = 20):
    """(total count, counts per kind, the items [offset, offset+limit)) of one kind or of all
    kinds merged by due time. Each provider is asked once, for offset+limit items."""
    wanted = offset + limit
    chosen = providers_for(user)
    if kind:
        chosen = [p for p in chosen if p.kind == kind]
    pages = [(p, p.fetch(user, wanted)) for p in chosen]
    merged: list[TodoItem] = []
    for _p, page in pages:
        merged.extend(page.items)
    merged.sort(key=sort_key)
    per_kind = {p.kind: page.count for p, page in pages}
    return sum(per_kind.values()), per_kind, merged[offset : offset + limit]
