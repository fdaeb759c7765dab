"""Admin for announcements and the library. Data fixes only: visibility changes made here are
kept consistent (folder rules recomputed); business writes belong to the pages and the API."""

from __future__ import annotations

from django.contrib import admin

from . import services
from .models import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementEvent,
    AnnouncementRead,
    Document,
    DocumentEvent,
    DocumentVersion,
    Folder,
    FolderEvent,
    Tag,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(ReadOnlyInline):
    model = AnnouncementAttachment
    fields = ["name", "size", "content_type", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


class AnnouncementEventInline(ReadOnlyInline):
    model = AnnouncementEvent
    fields = ["kind", "actor", "payload", "created_at"]
    readonly_fields = fields


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "audience", "pinned", "requires_read", "published_at"]
    list_filter = ["audience", "pinned", "requires_read"]
    search_fields = ["title", "body"]
    date_hierarchy = "published_at"
    autocomplete_fields = ["publisher"]
    filter_horizontal = ["departments", "roles"]
    readonly_fields = ["notified_at", "last_reminded_at", "created_at", "updated_at"]
    inlines = [AttachmentInline, AnnouncementEventInline]


@admin.register(AnnouncementRead)
class AnnouncementReadAdmin(admin.ModelAdmin):
    list_display = ["announcement", "user", "read_at"]
    search_fields = ["announcement__title", "user__username", "user__display_name"]
    list_select_related = ["announcement", "user"]
    raw_id_fields = ["announcement", "user"]


@admin.register(AnnouncementAttachment)
class AnnouncementAttachmentAdmin(admin.ModelAdmin):
    list_display = ["name", "announcement", "size", "content_type", "uploaded_at"]
    list_select_related = ["announcement"]
    readonly_fields = ["file", "size", "content_type", "uploaded_by", "uploaded_at"]
    raw_id_fields = ["announcement"]


@admin.register(AnnouncementEvent)
class AnnouncementEventAdmin(admin.ModelAdmin):
    list_display = ["announcement", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["announcement", "actor"]
    readonly_fields = ["announcement", "kind", "actor", "payload", "created_at"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "visibility", "rule", "owner", "order"]
    list_filter = ["visibility"]
    list_select_related = ["parent", "rule", "owner"]
    search_fields = ["name"]
    filter_horizontal = ["departments", "roles"]
    raw_id_fields = ["parent", "owner"]
    readonly_fields = ["rule", "created_at"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Cache bookkeeping of the tree, not workflow: keep `rule` true after an admin edit.
        services.recompute_rules()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.recompute_rules()


class VersionInline(ReadOnlyInline):
    model = DocumentVersion
    fields = [
        "number",
        "original_name",
        "size",
        "content_type",
        "note",
        "uploaded_by",
        "uploaded_at",
    ]
    readonly_fields = fields


class DocumentEventInline(ReadOnlyInline):
    model = DocumentEvent
    fields = ["kind", "actor", "payload", "created_at"]
    readonly_fields = fields


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "folder", "visibility", "owner", "updated_at"]
    list_filter = ["visibility", "folder"]
    list_select_related = ["folder", "owner"]
    search_fields = ["title", "body"]
    filter_horizontal = ["departments", "roles", "tags"]
    raw_id_fields = ["folder", "owner"]
    readonly_fields = ["current_version", "created_at", "updated_at"]
    inlines = [VersionInline, DocumentEventInline]


@admin.register(DocumentVersion)
class DocumentVersionAdmin(admin.ModelAdmin):
    list_display = ["original_name", "document", "number", "size", "uploaded_by", "uploaded_at"]
    list_select_related = ["document", "uploaded_by"]
    search_fields = ["original_name", "document__title"]
    raw_id_fields = ["document"]
    readonly_fields = ["file", "size", "content_type", "uploaded_by", "uploaded_at"]


@admin.register(DocumentEvent)
class DocumentEventAdmin(admin.ModelAdmin):
    list_display = ["document", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["document", "actor"]
    readonly_fields = ["document", "kind", "actor", "payload", "created_at"]


@admin.register(FolderEvent)
class FolderEventAdmin(admin.ModelAdmin):
    list_display = ["folder", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["folder", "actor"]
    readonly_fields = ["folder", "kind", "actor", "payload", "created_at"]
