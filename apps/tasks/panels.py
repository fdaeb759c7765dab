"""The tasks part of the 360° customer page: a panel of the customer's tasks and timeline
items (task created / done), registered from `TasksConfig.ready()`."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.customers.panels import Panel, TimelineItem, register_panel, register_timeline_source


def tasks_panel(user, customer):
    from .models import Task

    rows = list(
        Task.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("assignee")
        .order_by("-created_at", "-id")[:10]
    )
    can_add = user.has_perm("tasks.add_task")
    if not rows and not can_add:
        return None
    return Panel(
        title=_("Tasks"),
        template="tasks/_customer_panel.html",
        context={
            "rows": rows,
            "can_add": can_add,
            "add_url": reverse("tasks:create") + f"?customer={customer.pk}",
        },
        count=len(rows),
        order=40,
        icon="list-check",
        url=reverse("tasks:list") + f"?view=all&customer={customer.pk}",
    )


def tasks_timeline(user, customer, limit, before=None):
    """Tasks of the customer as feed items: one per task created and one per task done."""
    from .models import Task

    qs = Task.objects.visible_to(user).filter(customer=customer).select_related("assignee")
    if before is not None:
        qs = qs.filter(Q(created_at__lt=before) | Q(completed_at__lt=before))
    items = []
    for t in qs.order_by("-created_at", "-id")[:limit]:
        url = reverse("tasks:detail", args=[t.pk])
        if before is None or t.created_at < before:
            items.append(
                TimelineItem(
                    at=t.created_at,
                    kind="tasks.created",
                    title=_("Task: %(title)s") % {"title": t.title},
                    body=_("Assigned to %(user)s") % {"user": t.assignee},
                    actor=None,
                    url=url,
                    source="tasks",
                    object_id=t.pk,
                )
            )
        if (
            t.status == Task.Status.DONE
            and t.completed_at
            and (before is None or t.completed_at < before)
        ):
            items.append(
                TimelineItem(
                    at=t.completed_at,
                    kind="tasks.done",
                    title=_("Task done: %(title)s") % {"title": t.title},
                    actor=t.assignee,
                    url=url,
                    source="tasks",
                    object_id=t.pk,
                )
            )
    return items[:limit]


def register() -> None:
    register_panel("tasks", tasks_panel, order=40)
    register_timeline_source("tasks", tasks_timeline)
