"""To-do inbox provider: required announcements the user has not read yet (registered in
`DocsConfig.ready`). One query per call once the user's department ancestry is cached (the
audience rule reads it once per request, like every docs visibility check)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.org.todos import TodoItem, TodoProvider, register_provider, window_page

KIND = "announcement"


def unread_required(user, limit: int):
    from .selectors import unread_required_for

    def item(row) -> TodoItem:
        return TodoItem(
            kind=KIND,
            title=row.title,
            url=reverse("docs:announcement", args=[row.pk]),
            due_at=None,
            object_id=row.pk,
            subtitle=str(row.publisher) if row.publisher_id else "",
        )

    return window_page(unread_required_for(user), limit, item)


def register() -> None:
    register_provider(
        TodoProvider(
            kind=KIND,
            label=_("Announcements to read"),
            icon="megaphone",
            fetch=unread_required,
            order=60,
        )
    )
