"""Tasks: one assignee plus participants, subtasks to any depth with progress roll-up, comments
with attachments, a link to any record (generic) and to a customer (direct), history rows.

Tree bookkeeping: `parent` is the direct parent, `root` the top ancestor (null on a top-level
task) and `depth` the level (0 at the top), so a whole tree is one indexed query
(`Task.objects.of_tree(root_id)`) and the roll-up never walks the tree row by row.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department

from ..querysets import TaskQuerySet


def _private_storage():
    # Attachments never live under a public URL: a view checks the task is visible first.
    from apps.studio.imports import private_storage

    return private_storage()


def attachment_upload_to(instance, filename: str) -> str:
    # The stored path never contains what the user typed; the name lives in the database.
    return f"tasks/attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


# Set by `TaskQuerySet.visible_to_narrow`: on a query already narrowed by an index (one
# customer's tasks) the participants' subquery costs nothing and saves the look-up query.
PARTICIPANTS_AS_SUBQUERY: ContextVar[bool] = ContextVar(
    "tasks_participants_subquery", default=False
)


def _participant_ids(user) -> list[int]:
    """Ids of the tasks `user` participates in, read once per request (cached on the user) and
    inlined in the scope filter: `assignee = me OR id = ANY(…)` stays an index OR on
    PostgreSQL, where an OR'd `IN (SELECT …)` would scan the whole table."""
    from apps.org.scopes import _cache

    cache = _cache(user)
    if "tasks_participating" not in cache:
        cache["tasks_participating"] = sorted(
            TaskParticipant.objects.filter(user_id=user.pk).values_list("task_id", flat=True)
        )
    return cache["tasks_participating"]


class Task(models.Model):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("title",)

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        DOING = "doing", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Repeat(models.TextChoices):
        NONE = "", _("Does not repeat")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    OPEN = (Status.TODO, Status.DOING)
    PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.TODO
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="assigned_tasks",
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_tasks",
    )
    # The assignee's department when the task was (re)assigned: the role data scope
    # ("department" / "tree") is over the assignee's department, indexed on the row.
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("participants"),
        through="TaskParticipant",
        blank=True,
        related_name="participating_tasks",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent task"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subtasks",
    )
    root = models.ForeignKey(
        "self",
        verbose_name=_("top-level task"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.CASCADE,
        related_name="+",
    )
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    progress = models.PositiveSmallIntegerField(
        _("progress"),
        default=0,
        editable=False,
        help_text=_(
            "Per cent done: 100 when done; with subtasks, their average (cancelled ones left out)."
        ),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    due_soon_notified_at = models.DateTimeField(
        _("due-soon notice sent"), null=True, blank=True, editable=False
    )
    overdue_notified_at = models.DateTimeField(
        _("overdue notice sent"), null=True, blank=True, editable=False
    )
    repeat = models.CharField(
        _("repeat"), max_length=10, choices=Repeat.choices, default=Repeat.NONE, blank=True
    )
    repeat_until = models.DateField(_("repeat until"), null=True, blank=True)
    recurrence_of = models.OneToOneField(
        "self",
        verbose_name=_("previous occurrence"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="next_occurrence",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    # "Link to any record": an opportunity, contract, ticket, approval… (content type + id).
    link_type = models.ForeignKey(
        ContentType,
        verbose_name=_("linked record type"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    link_id = models.PositiveBigIntegerField(_("linked record id"), null=True, blank=True)
    link = GenericForeignKey("link_type", "link_id")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)

    scope_owner_field = "assignee"
    scope_department_field = "department"
    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="tasks_task_progress_range"
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("id")),
                name="tasks_task_not_own_parent",
            ),
            models.CheckConstraint(
                condition=Q(link_type__isnull=True, link_id__isnull=True)
                | Q(link_type__isnull=False, link_id__isnull=False),
                name="tasks_task_link_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="tasks_task_assignee"),
            # "My open tasks by due date": the inbox provider and the list page, index order.
            models.Index(
                fields=["assignee", "due_at"],
                name="tasks_task_open_due",
                condition=Q(status__in=["todo", "doing"]),
            ),
            models.Index(fields=["creator", "-created_at"], name="tasks_task_creator"),
            models.Index(fields=["department", "status"], name="tasks_task_dept"),
            models.Index(fields=["customer", "-created_at"], name="tasks_task_customer"),
            models.Index(fields=["status", "due_at"], name="tasks_task_status_due"),
            models.Index(fields=["-created_at", "-id"], name="tasks_task_created"),
            models.Index(fields=["link_type", "link_id"], name="tasks_task_link"),
            models.Index(
                fields=["remind_at"],
                name="tasks_task_remind",
                condition=Q(reminded_at__isnull=True, remind_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        try:
            return reverse("tasks:detail", args=[self.pk])
        except NoReverseMatch:  # pages not wired (API-only tests)
            return ""

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_overdue(self) -> bool:
        return bool(self.is_open and self.due_at and self.due_at < timezone.now())

    @property
    def tree_root_id(self) -> int:
        return self.root_id or self.pk

    # Beyond the role scope over the assignee's department: whoever the task concerns sees it
    # (assignee, creator, participants), even without any role; assignee and creator may change
    # it, only the creator delete it.
    @classmethod
    def scope_extra_q(cls, user, action):
        if action == "view":
            q = Q(assignee_id=user.pk) | Q(creator_id=user.pk)
            if PARTICIPANTS_AS_SUBQUERY.get():
                subquery = TaskParticipant.objects.filter(user_id=user.pk).values("task_id")
                return q | Q(pk__in=subquery)
            ids = _participant_ids(user)
            return q | Q(pk__in=ids) if ids else q
        if action == "change":
            return Q(assignee_id=user.pk) | Q(creator_id=user.pk)
        if action == "delete":
            return Q(creator_id=user.pk)
        return None

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        if action == "view":
            return user.pk in (obj.assignee_id, obj.creator_id) or obj.pk in _participant_ids(user)
        if action == "change":
            return user.pk in (obj.assignee_id, obj.creator_id)
        if action == "delete":
            return obj.creator_id == user.pk
        return False


class TaskParticipant(models.Model):
    task = models.ForeignKey(Task, verbose_name=_("task"), on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="task_participations",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["task", "user"], name="tasks_participant_unique")
        ]
        indexes = [models.Index(fields=["user", "task"], name="tasks_participant_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.task_id}"


class TaskComment(models.Model):
    """Feedback on a task; `mentions` are the ids of the colleagues @mentioned (notified)."""

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("comment"))
    mentions = models.JSONField(_("mentioned"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="tasks_comment_task")]

    def __str__(self) -> str:
        return self.body[:50]


class TaskAttachment(models.Model):
    comment = models.ForeignKey(
        TaskComment,
        verbose_name=_("comment"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(
        _("file"), upload_to=attachment_upload_to, storage=_private_storage, max_length=300
    )
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tasks:attachment", args=[self.pk])


class TaskEvent(models.Model):
    """One line of a task's history."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        ASSIGNED = "assigned", _("Assigned")
        STATUS = "status", _("Status changed")
        COMMENTED = "commented", _("Commented")
        SUBTASK_ADDED = "subtask_added", _("Subtask added")
        PARTICIPANTS = "participants", _("Participants changed")
        MOVED = "moved", _("Moved")
        REMINDED = "reminded", _("Reminder sent")
        OVERDUE = "overdue", _("Overdue")
        RECURRED = "recurred", _("Next occurrence created")

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["task", "-at"], name="tasks_event_task_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.task_id}"
