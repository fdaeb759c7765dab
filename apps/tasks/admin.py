"""Admin of tasks: browse and correct records; the tree, the assignment and the status flow
belong to the services (pages, API), so the admin shows those fields read-only and offers
actions that call the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.org.errors import ServiceError

from . import (
    calendar_admin,  # noqa: F401 - registers the calendar's admin pages
    services,
)
from .models import Task, TaskAttachment, TaskComment, TaskEvent, TaskParticipant


class ParticipantInline(admin.TabularInline):
    model = TaskParticipant
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["added_at"]


class CommentInline(admin.StackedInline):
    model = TaskComment
    extra = 0
    fields = ["author", "body", "created_at"]
    readonly_fields = ["author", "body", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "status",
        "priority",
        "assignee",
        "due_at",
        "progress",
        "customer",
        "depth",
        "created_at",
    ]
    list_filter = ["status", "priority", "repeat", "department"]
    search_fields = ["title", "description", "assignee__username", "assignee__display_name"]
    date_hierarchy = "created_at"
    list_select_related = ["assignee", "customer"]
    raw_id_fields = ["customer", "parent"]
    autocomplete_fields = ["creator"]
    fields = [
        "title",
        "description",
        "priority",
        "due_at",
        "remind_at",
        "repeat",
        "repeat_until",
        "customer",
        "link_type",
        "link_id",
        "status",
        "assignee",
        "creator",
        "department",
        "parent",
        "root",
        "depth",
        "progress",
        "created_at",
        "started_at",
        "completed_at",
        "reminded_at",
        "due_soon_notified_at",
        "overdue_notified_at",
    ]
    readonly_fields = [
        "status",
        "assignee",
        "department",
        "parent",
        "root",
        "depth",
        "progress",
        "created_at",
        "started_at",
        "completed_at",
        "reminded_at",
        "due_soon_notified_at",
        "overdue_notified_at",
    ]
    inlines = [ParticipantInline, CommentInline, EventInline]
    actions = ["mark_done", "mark_cancelled", "reopen"]

    def has_add_permission(self, request):
        # A task is created on the pages or over the API (services set the tree and notify).
        return False

    def _set_status(self, request, queryset, status):
        done = 0
        for task in queryset:
            try:
                services.task_set_status(task=task, status=status, by=request.user)
                done += 1
            except (ServiceError, PermissionDenied) as exc:
                messages.warning(request, f"{task}: {getattr(exc, 'message', exc) or _('refused')}")
        if done:
            messages.success(
                request, ngettext("%(n)d task changed.", "%(n)d tasks changed.", done) % {"n": done}
            )

    @admin.action(description=_("Mark done"), permissions=["change"])
    def mark_done(self, request, queryset):
        self._set_status(request, queryset, Task.Status.DONE)

    @admin.action(description=_("Cancel (with open subtasks)"), permissions=["change"])
    def mark_cancelled(self, request, queryset):
        self._set_status(request, queryset, Task.Status.CANCELLED)

    @admin.action(description=_("Reopen"), permissions=["change"])
    def reopen(self, request, queryset):
        self._set_status(request, queryset, Task.Status.TODO)


class AttachmentInline(admin.TabularInline):
    model = TaskAttachment
    extra = 0
    fields = ["name", "size", "content_type", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TaskComment)
class TaskCommentAdmin(admin.ModelAdmin):
    list_display = ["task", "author", "created_at"]
    search_fields = ["body", "task__title"]
    list_select_related = ["task", "author"]
    raw_id_fields = ["task"]
    readonly_fields = ["task", "author", "mentions", "created_at"]
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False
