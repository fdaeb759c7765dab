"""The tasks part of the 360° customer page: a panel of the customer's tasks and timeline
items (task created / done), registered from `TasksConfig.ready()`."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.customers.panels import Panel, TimelineItem, register_panel, register_timeline_source
from apps.org.fields import field_access

FEED_ROWS = 50


def _customer_rows(user, customer) -> list:
    """The customer's latest tasks the user may see, read once per request for the panel and
    the timeline (memoised on the customer object): one query for both."""
    from .models import Task

    memo = customer.__dict__.setdefault("_weft_task_rows", {})
    if user.pk not in memo:
        memo[user.pk] = list(
            Task.objects.filter(customer=customer)
            .visible_to_narrow(user)
            .select_related("assignee")
            .order_by("-created_at", "-id")[:FEED_ROWS]
        )
    return memo[user.pk]


def tasks_panel(user, customer):
    rows = _customer_rows(user, customer)[:10]
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

    if before is None and limit <= FEED_ROWS:
        rows = _customer_rows(user, customer)[:limit]
    else:
        rows = list(
            Task.objects.filter(customer=customer)
            .visible_to_narrow(user)
            .filter(Q(created_at__lt=before) | Q(completed_at__lt=before))
            .select_related("assignee")
            .order_by("-created_at", "-id")[:limit]
        )
    # Field security: an item dated by a hidden field is left out (its place in the feed
    # would tell the date); a hidden assignee is not named.
    see = field_access(user, Task)
    items = []
    for t in rows:
        url = reverse("tasks:detail", args=[t.pk])
        if see.can_view("created_at") and (before is None or t.created_at < before):
            items.append(
                TimelineItem(
                    at=t.created_at,
                    kind="tasks.created",
                    title=_("Task: %(title)s") % {"title": t.title},
                    body=_("Assigned to %(user)s") % {"user": t.assignee}
                    if see.can_view("assignee")
                    else "",
                    actor=None,
                    url=url,
                    source="tasks",
                    object_id=t.pk,
                )
            )
        if (
            see.can_view("completed_at")
            and see.can_view("status")
            and t.status == Task.Status.DONE
            and t.completed_at
            and (before is None or t.completed_at < before)
        ):
            items.append(
                TimelineItem(
                    at=t.completed_at,
                    kind="tasks.done",
                    title=_("Task done: %(title)s") % {"title": t.title},
                    actor=t.assignee if see.can_view("assignee") else None,
                    url=url,
                    source="tasks",
                    object_id=t.pk,
                )
            )
    return items[:limit]


def register() -> None:
    register_panel("tasks", tasks_panel, order=40)
    register_timeline_source("tasks", tasks_timeline)
