"""The tasks app's to-do provider (kind "task"): my open tasks due by the end of today,
overdue ones first. One query per call (`window_page`)."""

from __future__ import annotations

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.todos import TodoItem, TodoProvider, register_provider, window_page

KIND = "task"


def tasks_due(user, limit: int):
    from .models import Task
    from .selectors import end_of_today

    now = timezone.now()
    qs = (
        Task.objects.filter(assignee_id=user.pk, status__in=Task.OPEN, due_at__lt=end_of_today())
        .only("pk", "title", "due_at", "priority", "status", "customer__name", "customer_id")
        .select_related("customer")
        .order_by(F("due_at").asc(), "pk")
    )

    def item(t) -> TodoItem:
        parts = [t.get_priority_display()]
        if t.customer_id:
            parts.append(t.customer.name)
        return TodoItem(
            kind=KIND,
            title=t.title,
            url=reverse("tasks:detail", args=[t.pk]),
            due_at=t.due_at,
            object_id=t.pk,
            subtitle=" · ".join(str(p) for p in parts),
            overdue=t.due_at < now,
        )

    return window_page(qs, limit, item)


def register() -> None:
    register_provider(
        TodoProvider(kind=KIND, label=_("Tasks due"), icon="list-check", fetch=tasks_due, order=20)
    )
