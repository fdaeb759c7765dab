"""Every write on tasks: create, change, assign, participants, status flow, subtask tree and
roll-up, comments with attachments and @mentions, recurrence, reminders.

Status flow::

    todo ─► doing ─► done          done / cancelled ─reopen─► todo
      └──────┴────► cancelled (cancels the open subtasks below too)

A task with open subtasks cannot be done. Progress rolls up: a task without (live) subtasks is
100 % when done and 0 % otherwise; a task with subtasks shows the average of its non-cancelled
subtasks. Every change of a tree recomputes that tree from one query, under a lock on its root
row, so two subtasks finished at once cannot lose an update.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ConflictError, ServiceError
from apps.org.storage import remove_stored
from apps.studio.automation import record_changed

from .models import Task, TaskAttachment, TaskComment, TaskEvent, TaskParticipant

User = get_user_model()
S = Task.Status

MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_FILES = 10
MAX_DEPTH = 20  # deep enough for any real plan, shallow enough to render
EDITABLE = ("title", "description", "priority", "due_at", "remind_at", "repeat", "repeat_until")

# Allowed status moves: from → to.
TRANSITIONS: dict[str, set[str]] = {
    S.TODO: {S.DOING, S.DONE, S.CANCELLED},
    S.DOING: {S.TODO, S.DONE, S.CANCELLED},
    S.DONE: {S.TODO},
    S.CANCELLED: {S.TODO},
}

MENTION_RE = re.compile(r"(?:^|(?<=[\s(（,，:：;；]))@([\w.+\-]{1,150})", re.UNICODE)


# --- helpers ---------------------------------------------------------------------------------


def _require(by, perm: str, obj: models.Model | None = None) -> None:
    """PermissionDenied unless `by` holds `perm` (on `obj`); `by=None` is the system itself."""
    if by is None:
        return
    if not (by.has_perm(perm, obj) if obj is not None else by.has_perm(perm)):
        raise PermissionDenied


def may_change(user, task: Task) -> bool:
    return user.has_perm("tasks.change_task", task)


def may_view(user, task: Task) -> bool:
    return user.has_perm("tasks.view_task", task)


def _event(task: Task, kind: str, by, **payload) -> TaskEvent:
    return TaskEvent.objects.create(task=task, kind=kind, actor=by, payload=payload)


def _lock(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


def _lock_tree(root_id: int) -> None:
    """Serialise every change of one tree on its root row."""
    list(Task.objects.select_for_update().filter(pk=root_id).values_list("pk", flat=True))


def _plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _active_user(user, field: str):
    if user is None or not getattr(user, "is_active", False):
        raise ServiceError(_("Choose an active colleague."), field=field)
    return user


def _check_customer(by, customer) -> None:
    if customer is None or by is None:
        return
    if not by.has_perm("customers.view_customer", customer):
        raise ServiceError(_("You cannot see this customer."), field="customer")


def resolve_link(by, link_type: str | ContentType | None, link_id) -> models.Model | None:
    """The record a task links to, from "app_label.model" and an id; it must exist and, for a
    scoped model, be visible to `by`. ServiceError(field="link_type"/"link_id") otherwise."""
    if link_type in (None, "") and link_id in (None, ""):
        return None
    if link_type in (None, "") or link_id in (None, ""):
        raise ServiceError(_("Give both the record type and its id."), field="link_id")
    if isinstance(link_type, ContentType):
        ct = link_type
    else:
        app_label, _dot, model = str(link_type).lower().partition(".")
        ct = ContentType.objects.filter(app_label=app_label, model=model).first()
        if ct is None or ct.model_class() is None:
            raise ServiceError(_("Unknown record type."), field="link_type")
    model_cls = ct.model_class()
    try:
        pk = int(link_id)
    except (TypeError, ValueError):
        raise ServiceError(_("Give a record id."), field="link_id") from None
    manager = model_cls._default_manager
    obj = manager.filter(pk=pk).first()
    if obj is None:
        raise ServiceError(_("No such record."), field="link_id")
    if by is not None and not by.is_superuser:
        opts = model_cls._meta
        if hasattr(manager, "visible_to") or hasattr(manager.all(), "visible_to"):
            if not by.has_perm(f"{opts.app_label}.view_{opts.model_name}", obj):
                raise ServiceError(_("No such record."), field="link_id")
        elif not by.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            raise ServiceError(_("No such record."), field="link_id")
    return obj


def _set_link(task: Task, obj: models.Model | None) -> None:
    if obj is None:
        task.link_type, task.link_id = None, None
        return
    task.link_type = ContentType.objects.get_for_model(obj)
    task.link_id = obj.pk
    # A task linked to a customer, or to a record of a customer (ticket, deal, contract),
    # serves that customer: the 360° page lists it.
    from apps.customers.models import Customer

    if isinstance(obj, Customer):
        task.customer = obj
    elif task.customer_id is None and getattr(obj, "customer_id", None):
        task.customer_id = obj.customer_id


def _validate(task: Task) -> None:
    errors: dict[str, list[str]] = {}
    task.title = (task.title or "").strip()
    if not task.title:
        errors["title"] = [_("Give the task a title.")]
    elif len(task.title) > MAX_TITLE:
        errors["title"] = [_("At most %(n)s characters.") % {"n": MAX_TITLE}]
    if len(task.description or "") > MAX_TEXT:
        errors["description"] = [_("The text is too long.")]
    if task.status not in S.values:
        errors["status"] = [_("Unknown status.")]
    if task.priority not in Task.Priority.values:
        errors["priority"] = [_("Unknown priority.")]
    if task.repeat not in Task.Repeat.values:
        errors["repeat"] = [_("Unknown repetition.")]
    if task.repeat:
        if task.parent_id:
            errors["repeat"] = [_("Only a top-level task can repeat.")]
        elif task.due_at is None:
            errors["due_at"] = [_("A repeating task needs a due date.")]
    if task.repeat_until and task.due_at and task.repeat_until < timezone.localdate(task.due_at):
        errors["repeat_until"] = [_("Repeat until a day after the first due date.")]
    if errors:
        raise ServiceError(_("Check the task."), errors=errors)


# --- roll-up ---------------------------------------------------------------------------------


def _leaf_progress(status: str) -> int:
    return 100 if status == S.DONE else 0


def rollup_tree(root_id: int) -> int:
    """Recompute the progress of every task of one tree (one read, one bulk write of the rows
    that changed). Returns how many rows changed."""
    rows = list(Task.objects.of_tree(root_id).only("pk", "parent_id", "status", "progress"))
    children: dict[int | None, list[Task]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    changed: list[Task] = []

    def walk(node: Task) -> int:
        kids = children.get(node.pk, [])
        values = [walk(kid) for kid in kids if kid.status != S.CANCELLED]
        # Cancelled subtasks are walked too (their own subtree rolls up) but do not count.
        for kid in kids:
            if kid.status == S.CANCELLED:
                walk(kid)
        if values:
            value = round(sum(values) / len(values))
        else:
            value = _leaf_progress(node.status)
        if node.progress != value:
            node.progress = value
            changed.append(node)
        return value

    by_pk = {row.pk: row for row in rows}
    if root_id in by_pk:
        walk(by_pk[root_id])
    if changed:
        Task.objects.bulk_update(changed, ["progress"])
    return len(changed)


def _descendants(task: Task) -> list[Task]:
    """Every task below `task`, from its tree's one query."""
    rows = list(Task.objects.of_tree(task.tree_root_id).exclude(pk=task.pk))
    children: dict[int, list[Task]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out, stack = [], [task.pk]
    while stack:
        for kid in children.get(stack.pop(), []):
            out.append(kid)
            stack.append(kid.pk)
    return out


# --- create / update -------------------------------------------------------------------------


@transaction.atomic
def task_create(*, by, data: Mapping, parent: Task | None = None) -> Task:
    """Create a task (or a subtask of `parent`). `data`: title, description, priority, due_at,
    remind_at, repeat, repeat_until, assignee (default: `by`), participants, customer, link
    (a model instance) or link_type ("app.model") + link_id.

    Needs the add permission; a subtask also needs the change permission on its parent.
    """
    _require(by, "tasks.add_task")
    if parent is not None:
        _require(by, "tasks.change_task", parent)
        _lock_tree(parent.tree_root_id)
        parent = Task.objects.get(pk=parent.pk)
        if parent.depth + 1 > MAX_DEPTH:
            raise ServiceError(
                _("Subtasks go at most %(n)s levels deep.") % {"n": MAX_DEPTH}, field="parent"
            )
    assignee = data.get("assignee") or by
    if assignee is None:
        raise ServiceError(_("Choose who does the task."), field="assignee")
    _active_user(assignee, "assignee")
    task = Task(
        title=data.get("title") or "",
        description=(data.get("description") or "").strip(),
        priority=data.get("priority") or Task.Priority.NORMAL,
        due_at=data.get("due_at"),
        remind_at=data.get("remind_at"),
        repeat=data.get("repeat") or "",
        repeat_until=data.get("repeat_until"),
        assignee=assignee,
        department_id=assignee.department_id,
        creator=by,
    )
    if parent is not None:
        task.parent = parent
        task.root_id = parent.tree_root_id
        task.depth = parent.depth + 1
    customer = data.get("customer")
    _check_customer(by, customer)
    task.customer = customer
    link = data.get("link")
    if link is None and (data.get("link_type") or data.get("link_id")):
        link = resolve_link(by, data.get("link_type"), data.get("link_id"))
    _set_link(task, link)
    if task.customer_id is None and parent is not None:
        task.customer_id = parent.customer_id
    _validate(task)
    task.save()
    participants = _clean_participants(data.get("participants") or [], task)
    TaskParticipant.objects.bulk_create([TaskParticipant(task=task, user=u) for u in participants])
    _event(task, TaskEvent.Kind.CREATED, by, assignee=assignee.pk)
    record_changed(task, created=True, by=by)
    if parent is not None:
        _event(parent, TaskEvent.Kind.SUBTASK_ADDED, by, subtask=task.pk, title=task.title)
        rollup_tree(task.root_id)
    if by is None or assignee.pk != by.pk:
        notify.send(
            assignee,
            "tasks.assigned",
            task,
            actor=by,
            message=_("Task assigned to you: %(title)s") % {"title": task.title},
        )
    if participants:
        notify.send(
            [u for u in participants if by is None or u.pk != by.pk],
            "tasks.participant",
            task,
            actor=by,
            message=_("You were added to the task: %(title)s") % {"title": task.title},
        )
    return task


def _clean_participants(users: Iterable, task: Task) -> list:
    seen, out = set(), []
    for user in users:
        if user is None or user.pk in seen or user.pk == task.assignee_id:
            continue
        _active_user(user, "participants")
        seen.add(user.pk)
        out.append(user)
    return out


@transaction.atomic
def task_update(*, task: Task, by, data: Mapping) -> Task:
    """Change the editable fields, the customer, the link, the assignee, the participants and
    the parent (a move) in one step. Reminder markers reset when the dates change."""
    _require(by, "tasks.change_task", task)
    task = _lock(task)
    changes: dict[str, list] = {}
    for name in EDITABLE:
        if name not in data:
            continue
        new = data[name]
        if isinstance(new, str):
            new = new.strip()
        if new is None and name in ("title", "description", "repeat"):
            new = ""
        if name == "priority" and not new:
            new = Task.Priority.NORMAL
        old = getattr(task, name)
        if _plain(old) != _plain(new):
            setattr(task, name, new)
            changes[name] = [_plain(old), _plain(new)]
    if "customer" in data and data["customer"] != task.customer:
        _check_customer(by, data["customer"])
        changes["customer"] = [task.customer_id, getattr(data["customer"], "pk", None)]
        task.customer = data["customer"]
    if "link" in data or "link_type" in data or "link_id" in data:
        link = data.get("link")
        if link is None and (data.get("link_type") or data.get("link_id")):
            link = resolve_link(by, data.get("link_type"), data.get("link_id"))
        old = (task.link_type_id, task.link_id)
        _set_link(task, link)
        if old != (task.link_type_id, task.link_id):
            changes["link"] = [list(old), [task.link_type_id, task.link_id]]
    if "due_at" in changes:
        task.due_soon_notified_at = None
        task.overdue_notified_at = None
    if "remind_at" in changes:
        task.reminded_at = None
    _validate(task)
    if changes:
        task.save()
        _event(task, TaskEvent.Kind.UPDATED, by, changes=sorted(changes))
        record_changed(task, changes=changes, by=by)
    if (
        "assignee" in data
        and data["assignee"] is not None
        and data["assignee"].pk != (task.assignee_id)
    ):
        task = task_assign(task=task, assignee=data["assignee"], by=by)
    if "participants" in data:
        task_set_participants(task=task, users=data["participants"] or [], by=by)
    if "parent" in data and getattr(data["parent"], "pk", None) != task.parent_id:
        task = task_move(task=task, parent=data["parent"], by=by)
    return task


@transaction.atomic
def task_assign(*, task: Task, assignee, by) -> Task:
    """Hand the task to someone else; they are notified, the previous assignee stays a
    participant (so the work they did stays in their view)."""
    _require(by, "tasks.change_task", task)
    _active_user(assignee, "assignee")
    task = _lock(task)
    if task.assignee_id == assignee.pk:
        return task
    previous = task.assignee_id
    task.assignee = assignee
    task.department_id = assignee.department_id
    task.reminded_at = task.due_soon_notified_at = task.overdue_notified_at = None
    task.save(
        update_fields=[
            "assignee",
            "department",
            "reminded_at",
            "due_soon_notified_at",
            "overdue_notified_at",
            "updated_at",
        ]
    )
    TaskParticipant.objects.filter(task=task, user=assignee).delete()
    TaskParticipant.objects.get_or_create(task=task, user_id=previous)
    _event(task, TaskEvent.Kind.ASSIGNED, by, assignee=assignee.pk, previous=previous)
    record_changed(task, changes={"assignee": [previous, assignee.pk]}, by=by)
    if by is None or assignee.pk != by.pk:
        notify.send(
            assignee,
            "tasks.assigned",
            task,
            actor=by,
            message=_("Task assigned to you: %(title)s") % {"title": task.title},
        )
    return task


@transaction.atomic
def task_set_participants(*, task: Task, users: Iterable, by) -> Task:
    _require(by, "tasks.change_task", task)
    wanted = {u.pk: u for u in _clean_participants(users, task)}
    current = set(TaskParticipant.objects.filter(task=task).values_list("user_id", flat=True))
    added = [u for pk, u in wanted.items() if pk not in current]
    removed = current - set(wanted)
    if not added and not removed:
        return task
    TaskParticipant.objects.filter(task=task, user_id__in=removed).delete()
    TaskParticipant.objects.bulk_create([TaskParticipant(task=task, user=u) for u in added])
    _event(
        task,
        TaskEvent.Kind.PARTICIPANTS,
        by,
        added=sorted(u.pk for u in added),
        removed=sorted(removed),
    )
    if added:
        notify.send(
            added,
            "tasks.participant",
            task,
            actor=by,
            message=_("You were added to the task: %(title)s") % {"title": task.title},
        )
    return task


@transaction.atomic
def task_move(*, task: Task, parent: Task | None, by) -> Task:
    """Put a task (with its subtree) under another task, or at the top (parent=None)."""
    _require(by, "tasks.change_task", task)
    if parent is not None:
        _require(by, "tasks.change_task", parent)
    old_root = task.tree_root_id
    roots = sorted({old_root, parent.tree_root_id if parent is not None else old_root})
    for root_id in roots:
        _lock_tree(root_id)
    task = Task.objects.get(pk=task.pk)
    subtree = _descendants(task)
    if parent is not None:
        parent = Task.objects.get(pk=parent.pk)
        if parent.pk == task.pk or parent.pk in {t.pk for t in subtree}:
            raise ServiceError(_("A task cannot move below itself."), field="parent")
        if task.repeat:
            raise ServiceError(_("Only a top-level task can repeat."), field="parent")
    new_root = parent.tree_root_id if parent is not None else None
    new_depth = parent.depth + 1 if parent is not None else 0
    deepest = max([t.depth for t in subtree], default=task.depth) - task.depth
    if new_depth + deepest > MAX_DEPTH:
        raise ServiceError(
            _("Subtasks go at most %(n)s levels deep.") % {"n": MAX_DEPTH}, field="parent"
        )
    shift = new_depth - task.depth
    previous = task.parent_id
    task.parent = parent
    task.root_id = new_root
    task.depth = new_depth
    task.save(update_fields=["parent", "root", "depth", "updated_at"])
    tree_root = new_root or task.pk
    for row in subtree:
        row.root_id = tree_root
        row.depth += shift
    if subtree:
        Task.objects.bulk_update(subtree, ["root", "depth"])
    _event(task, TaskEvent.Kind.MOVED, by, parent=getattr(parent, "pk", None), previous=previous)
    rollup_tree(old_root)
    if tree_root != old_root:
        rollup_tree(tree_root)
    return task


@transaction.atomic
def task_delete(*, task: Task, by) -> None:
    """Delete a task with its subtasks (the creator, or a role with the delete permission)."""
    _require(by, "tasks.delete_task", task)
    root_id = task.tree_root_id
    _lock_tree(root_id)
    files = list(
        TaskAttachment.objects.filter(
            Q(comment__task=task) | Q(comment__task__in=[t.pk for t in _descendants(task)])
        ).values_list("file", flat=True)
    )
    task.delete()
    if root_id != task.pk:
        rollup_tree(root_id)
    if files:
        transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    storage = TaskAttachment._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # pragma: no cover - already gone
            pass


# --- status ----------------------------------------------------------------------------------


@transaction.atomic
def task_set_status(*, task: Task, status: str, by) -> Task:
    """Move a task through its flow; see the module docstring."""
    _require(by, "tasks.change_task", task)
    if status not in S.values:
        raise ServiceError(_("Unknown status."), field="status")
    _lock_tree(task.tree_root_id)
    task = Task.objects.get(pk=task.pk)
    if task.status == status:
        return task
    if status not in TRANSITIONS[task.status]:
        raise ConflictError(
            _("A task that is %(old)s cannot become %(new)s.")
            % {"old": task.get_status_display(), "new": S(status).label}
        )
    below = _descendants(task)
    if status == S.DONE and any(t.status in Task.OPEN for t in below):
        raise ServiceError(
            _("Finish or cancel the open subtasks first."), field="status", code="open_subtasks"
        )
    now = timezone.now()
    old = task.status
    task.status = status
    fields = ["status", "updated_at"]
    if status == S.DOING and task.started_at is None:
        task.started_at = now
        fields.append("started_at")
    if status in (S.DONE, S.CANCELLED):
        task.completed_at = now
        fields.append("completed_at")
    elif task.completed_at is not None:
        task.completed_at = None
        fields.append("completed_at")
    task.save(update_fields=fields)
    _event(task, TaskEvent.Kind.STATUS, by, old=old, new=status)
    record_changed(task, changes={"status": [old, status]}, by=by)
    if status == S.CANCELLED:
        cancelled = [t for t in below if t.status in Task.OPEN]
        for row in cancelled:
            row.status = S.CANCELLED
            row.completed_at = now
        if cancelled:
            Task.objects.bulk_update(cancelled, ["status", "completed_at"])
            TaskEvent.objects.bulk_create(
                [
                    TaskEvent(
                        task=row,
                        kind=TaskEvent.Kind.STATUS,
                        actor=by,
                        payload={"old": "open", "new": S.CANCELLED, "with": task.pk},
                    )
                    for row in cancelled
                ]
            )
    rollup_tree(task.tree_root_id)
    if status == S.DONE:
        if task.creator_id and (by is None or task.creator_id != by.pk):
            notify.send(
                task.creator,
                "tasks.done",
                task,
                actor=by,
                message=_("Task done: %(title)s") % {"title": task.title},
            )
        if task.repeat:
            task_recur(task=task, by=by)
    task.refresh_from_db(fields=["progress"])
    return task


def next_due(task: Task) -> dt.datetime | None:
    """The due time of the next occurrence of a repeating task (None: the series ended)."""
    if not task.repeat or task.due_at is None:
        return None
    step = {
        Task.Repeat.DAILY: relativedelta(days=1),
        Task.Repeat.WEEKLY: relativedelta(weeks=1),
        Task.Repeat.MONTHLY: relativedelta(months=1),
    }[Task.Repeat(task.repeat)]
    local = timezone.localtime(task.due_at)
    due = local + step
    # A task finished late does not leave a trail of already-missed occurrences behind.
    today = timezone.localtime()
    while due < today - relativedelta(days=1):
        due += step
    if task.repeat_until and due.date() > task.repeat_until:
        return None
    return due


@transaction.atomic
def task_recur(*, task: Task, by) -> Task | None:
    """Create the next occurrence of a repeating task (once per occurrence)."""
    due = next_due(task)
    if due is None or Task.objects.filter(recurrence_of=task).exists():
        return None
    remind = task.remind_at + (due - task.due_at) if task.remind_at and task.due_at else None
    nxt = Task.objects.create(
        **_copied_fields(task),
        due_at=due,
        remind_at=remind,
        repeat=task.repeat,
        repeat_until=task.repeat_until,
        recurrence_of=task,
    )
    TaskParticipant.objects.bulk_create(
        [
            TaskParticipant(task=nxt, user_id=pk)
            for pk in TaskParticipant.objects.filter(task=task).values_list("user_id", flat=True)
        ]
    )
    _copy_subtasks(task, nxt, shift=due - task.due_at)
    _event(nxt, TaskEvent.Kind.CREATED, by, recurrence_of=task.pk)
    _event(task, TaskEvent.Kind.RECURRED, by, next=nxt.pk, due_at=due.isoformat())
    return nxt


def _copied_fields(task: Task) -> dict:
    """What a new occurrence (or its subtask copies) takes over from the task it repeats."""
    return {
        name: getattr(task, name)
        for name in (
            "title",
            "description",
            "priority",
            "assignee_id",
            "department_id",
            "creator_id",
            "customer_id",
            "link_type_id",
            "link_id",
        )
    }


def _copy_subtasks(task: Task, nxt: Task, *, shift: dt.timedelta) -> None:
    """The next occurrence gets the same checklist: every subtask of `task` (any depth), open
    again, with its due and reminder times moved by the same step as the top task's; its
    participants too. Only top-level tasks repeat, so the subtasks are the rest of the tree.
    One read, one INSERT per level, one for the participants."""
    rows = sorted(
        Task.objects.filter(root_id=task.pk).exclude(status=Task.Status.CANCELLED),
        key=lambda r: (r.depth, r.pk),
    )
    if not rows:
        return
    new_of = {task.pk: nxt}
    for depth in sorted({r.depth for r in rows}):
        level = [r for r in rows if r.depth == depth and r.parent_id in new_of]
        copies = Task.objects.bulk_create(
            [
                Task(
                    **_copied_fields(r),
                    due_at=r.due_at + shift if r.due_at else None,
                    remind_at=r.remind_at + shift if r.remind_at else None,
                    parent=new_of[r.parent_id],
                    root_id=nxt.pk,
                    depth=r.depth,
                )
                for r in level
            ]
        )
        new_of.update({r.pk: c for r, c in zip(level, copies, strict=True)})
    TaskParticipant.objects.bulk_create(
        [
            TaskParticipant(task=new_of[tp.task_id], user_id=tp.user_id)
            for tp in TaskParticipant.objects.filter(task_id__in=[r.pk for r in rows])
            if tp.task_id in new_of
        ]
    )


# --- comments --------------------------------------------------------------------------------


def mentioned_users(body: str) -> list:
    """Active users named as @username or @display name in `body`."""
    tokens = {m.rstrip(".,;:!?，。；：！？") for m in MENTION_RE.findall(body or "")}
    tokens.discard("")
    if not tokens:
        return []
    return list(
        User.objects.filter(Q(username__in=tokens) | Q(display_name__in=tokens), is_active=True)
    )


@transaction.atomic
def comment_add(*, task: Task, by, body: str, files: Iterable = ()) -> TaskComment:
    """Feedback on a task, optionally with files. Whoever may see the task may comment.

    @mentioned colleagues become participants (so they can open the task) and are notified;
    the assignee, the creator and the participants hear about the comment too.
    """
    from apps.docs.uploads import check_upload

    if by is not None and not may_view(by, task):
        raise PermissionDenied
    body = (body or "").strip()
    files = [f for f in files if f]
    if not body and not files:
        raise ServiceError(_("Write a comment or attach a file."), field="body")
    if len(body) > MAX_TEXT:
        raise ServiceError(_("The text is too long."), field="body")
    if len(files) > MAX_FILES:
        raise ServiceError(_("At most %(n)s files at once.") % {"n": MAX_FILES}, field="files")
    checked = []
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except ServiceError as exc:
            raise ServiceError(exc.message, field="files") from None
    mentioned = [u for u in mentioned_users(body) if by is None or u.pk != by.pk]
    comment = TaskComment.objects.create(
        task=task, author=by, body=body, mentions=sorted(u.pk for u in mentioned)
    )
    stored: list[str] = []
    written = []
    try:
        for item in checked:
            att = TaskAttachment(
                comment=comment,
                name=item.name,
                size=item.size,
                content_type=item.content_type,
                uploaded_by=by,
            )
            att.file.save(item.name, item.file, save=False)
            written.append(att.file)
            stored.append(att.file.name)
            att.save()
    except Exception:
        remove_stored(written)  # the comment rolls back: so do the files already written
        raise
    involved = {task.assignee_id, task.creator_id} | set(
        TaskParticipant.objects.filter(task=task).values_list("user_id", flat=True)
    )
    new_participants = [u for u in mentioned if u.pk not in involved]
    TaskParticipant.objects.bulk_create(
        [TaskParticipant(task=task, user=u) for u in new_participants]
    )
    _event(
        task,
        TaskEvent.Kind.COMMENTED,
        by,
        comment=comment.pk,
        files=len(stored),
        mentions=comment.mentions,
    )
    author = str(by) if by is not None else _("System")
    if mentioned:
        notify.send(
            mentioned,
            "tasks.mentioned",
            task,
            actor=by,
            message=_("%(user)s mentioned you on %(title)s: %(text)s")
            % {"user": author, "title": task.title, "text": body[:200]},
        )
    mentioned_ids = {u.pk for u in mentioned}
    others = [
        pk
        for pk in involved
        if pk is not None and pk not in mentioned_ids and (by is None or pk != by.pk)
    ]
    if others:
        notify.send(
            list(User.objects.filter(pk__in=others, is_active=True)),
            "tasks.commented",
            task,
            actor=by,
            message=_("%(user)s commented on %(title)s: %(text)s")
            % {"user": author, "title": task.title, "text": body[:200]},
        )
    return comment


# --- reminders (Celery, every 15 minutes) -----------------------------------------------------


def _batched(qs, batch: int):
    return list(qs.select_related("assignee", "creator").order_by("pk")[:batch])


def tasks_remind_due(*, now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Send the reminders that are due; idempotent (markers on the rows).

    * reminder time reached → the assignee;
    * due within `WEFT_TASK_DUE_SOON_HOURS` (default 24) → the assignee, once;
    * past due → the assignee and the creator, once.
    A changed due date or reminder time clears its marker (task_update), so it fires again.
    """
    now = now or timezone.now()
    soon = now + dt.timedelta(hours=getattr(settings, "WEFT_TASK_DUE_SOON_HOURS", 24))
    counts = {"reminded": 0, "due_soon": 0, "overdue": 0}
    open_tasks = Task.objects.open()

    for task in _batched(open_tasks.filter(remind_at__lte=now, reminded_at__isnull=True), batch):
        with transaction.atomic():
            if Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now):
                _event(task, TaskEvent.Kind.REMINDED, None, remind_at=_plain(task.remind_at))
                notify.send(
                    task.assignee,
                    "tasks.reminder",
                    task,
                    message=_("Reminder: %(title)s") % {"title": task.title} + _due_text(task),
                )
                counts["reminded"] += 1

    for task in _batched(
        open_tasks.filter(due_at__gt=now, due_at__lte=soon, due_soon_notified_at__isnull=True),
        batch,
    ):
        with transaction.atomic():
            if Task.objects.filter(pk=task.pk, due_soon_notified_at__isnull=True).update(
                due_soon_notified_at=now
            ):
                notify.send(
                    task.assignee,
                    "tasks.due_soon",
                    task,
                    message=_("Due soon: %(title)s") % {"title": task.title} + _due_text(task),
                )
                counts["due_soon"] += 1

    for task in _batched(
        open_tasks.filter(due_at__lte=now, overdue_notified_at__isnull=True), batch
    ):
        with transaction.atomic():
            if Task.objects.filter(pk=task.pk, overdue_notified_at__isnull=True).update(
                overdue_notified_at=now, due_soon_notified_at=now
            ):
                _event(task, TaskEvent.Kind.OVERDUE, None)
                recipients = [task.assignee]
                if task.creator_id and task.creator_id != task.assignee_id:
                    recipients.append(task.creator)
                notify.send(
                    recipients,
                    "tasks.overdue",
                    task,
                    message=_("Overdue: %(title)s") % {"title": task.title} + _due_text(task),
                )
                counts["overdue"] += 1
    return counts


def _due_text(task: Task) -> str:
    if task.due_at is None:
        return ""
    return _(" (due %(due)s)") % {"due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")}
