"""Reads of tasks for a user: the list views (mine / created / team / all visible), the board,
one task with its subtree, comments and history — each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.org.models import Scope
from apps.org.scopes import role_scope

from .filters import TaskFilter
from .models import Task, TaskAttachment, TaskComment, TaskEvent, TaskParticipant

LIST_RELATED = ("assignee", "creator", "customer")
VIEWS = ("mine", "created", "participating", "team", "all")
BOARD_DONE_LIMIT = 30


def end_of_today(now: dt.datetime | None = None) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def has_team_view(user) -> bool:
    """Whether the user's roles give a data scope on tasks wider than their own."""
    scope = role_scope(user, Task)
    return scope in (Scope.DEPARTMENT, Scope.TREE, Scope.ALL)


def task_queryset(*, user, view: str = "all") -> QuerySet[Task]:
    """The tasks of one list view; always within what `user` may see.

    mine: assigned to me · created: I created · participating: I take part in ·
    team: visible through my role's data scope over the assignees' departments (not mine) ·
    all: everything I may see.
    """
    base = Task.objects.select_related(*LIST_RELATED)
    if view == "mine":
        return base.filter(assignee_id=user.pk)
    if view == "created":
        return base.filter(creator_id=user.pk)
    if view == "participating":
        ids = TaskParticipant.objects.filter(user_id=user.pk).values("task_id")
        return base.filter(pk__in=ids)
    if view == "team":
        if not has_team_view(user):
            return base.none()
        return base.visible_to(user).exclude(assignee_id=user.pk)
    return base.visible_to(user)


def task_list(*, user, view: str = "all", filters: Mapping | None = None) -> QuerySet[Task]:
    """One list view with the list filters applied (ValidationError on a bad filter)."""
    if view not in VIEWS:
        view = "all"
    qs = task_queryset(user=user, view=view)
    filters = filters or {}
    if filters:
        fs = TaskFilter(filters, queryset=qs, request_user=user)
        if not fs.is_valid():
            raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
        qs = fs.qs
    return qs


def order_for_list(qs: QuerySet[Task], sort: str = "") -> QuerySet[Task]:
    if sort == "due":
        from django.db.models import F

        return qs.order_by(F("due_at").asc(nulls_last=True), "-id")
    if sort == "priority":
        from django.db.models import Case, IntegerField, Value, When

        rank = Case(
            *[When(priority=k, then=Value(v)) for k, v in Task.PRIORITY_RANK.items()],
            output_field=IntegerField(),
        )
        return qs.annotate(_rank=rank).order_by("_rank", "-id")
    if sort == "updated":
        return qs.order_by("-updated_at", "-id")
    return qs.order_by("-created_at", "-id")


def board(*, user, view: str = "all", filters: Mapping | None = None) -> dict[str, list[Task]]:
    """The kanban: open columns in full (by due date), done and cancelled the latest few.
    Three queries whatever the number of tasks."""
    qs = task_list(user=user, view=view, filters=filters)
    from django.db.models import F

    by_due = (F("due_at").asc(nulls_last=True), "-id")
    cols: dict[str, list[Task]] = {}
    open_rows = list(qs.filter(status__in=Task.OPEN).order_by(*by_due)[:500])
    cols[Task.Status.TODO] = [t for t in open_rows if t.status == Task.Status.TODO]
    cols[Task.Status.DOING] = [t for t in open_rows if t.status == Task.Status.DOING]
    for status in (Task.Status.DONE, Task.Status.CANCELLED):
        cols[status] = list(
            qs.filter(status=status).order_by("-completed_at", "-id")[:BOARD_DONE_LIMIT]
        )
    return cols


def visible_task(*, user, pk: int) -> Task:
    """One task the user may see (DoesNotExist otherwise)."""
    return (
        Task.objects.visible_to(user)
        .select_related("assignee", "creator", "customer", "parent", "link_type", "department")
        .get(pk=pk)
    )


def subtree(task: Task) -> list[Task]:
    """Every task below `task`, depth-first in creation order, each with `.level` (1 = direct
    subtask) — one query over the tree."""
    rows = list(
        Task.objects.of_tree(task.tree_root_id)
        .exclude(pk=task.pk)
        .select_related("assignee")
        .order_by("depth", "created_at", "id")
    )
    children: dict[int, list[Task]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[Task] = []

    def walk(pk: int, level: int) -> None:
        for kid in children.get(pk, []):
            kid.level = level
            kid.child_count = len(children.get(kid.pk, []))
            out.append(kid)
            walk(kid.pk, level + 1)

    walk(task.pk, 1)
    return out


def ancestors(task: Task) -> list[Task]:
    """From the top-level task down to the parent of `task` (one query)."""
    if task.parent_id is None:
        return []
    rows = {
        t.pk: t
        for t in Task.objects.of_tree(task.tree_root_id)
        .filter(depth__lt=task.depth)
        .only("pk", "title", "parent_id", "depth", "status")
    }
    out, node = [], rows.get(task.parent_id)
    while node is not None:
        out.append(node)
        node = rows.get(node.parent_id)
    return list(reversed(out))


def comments(task: Task) -> list[TaskComment]:
    return list(
        task.comments.select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=TaskAttachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )


def events(task: Task, limit: int = 50) -> list[TaskEvent]:
    return list(task.events.select_related("actor").order_by("-at", "-id")[:limit])


def participants(task: Task) -> list:
    return [
        p.user
        for p in TaskParticipant.objects.filter(task=task).select_related("user").order_by("id")
    ]


def visible_attachment(*, user, pk: int) -> TaskAttachment:
    """An attachment of a comment on a task the user may see (DoesNotExist otherwise)."""
    att = TaskAttachment.objects.select_related("comment").get(pk=pk)
    Task.objects.visible_to(user).filter(pk=att.comment.task_id).get()
    return att


def customer_tasks(*, user, customer, limit: int = 10) -> list[Task]:
    return list(
        Task.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("assignee")
        .order_by(F("completed_at").desc(nulls_first=True), "-created_at", "-id")[:limit]
    )


def overdue_q(now: dt.datetime | None = None) -> Q:
    return Q(status__in=Task.OPEN, due_at__lt=now or timezone.now())
