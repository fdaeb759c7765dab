"""API (DESIGN §5): announcements/, folders/, documents/.

Reading follows the audience rules (`visible_to`): any signed-in employee lists what is addressed
to them, without a model permission; a record they may not see is a 404. Writing needs the add
permission (create) or `has_perm(change/delete, obj)` (the author, a role in scope, or a guardian
grant) — except `POST announcements/{id}/read/`, which anyone who sees the announcement may do.
Files are uploaded as multipart and downloaded through `documents/{id}/download/` (the same
permission as reading the document), never from MEDIA_URL. Every write goes through `services`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.org.api_base import FieldSecuredSerializerMixin, ScopedModelViewSet
from apps.org.fields import field_access
from apps.org.models import Department
from apps.studio.serializers import CustomFieldsSerializerMixin

from . import selectors, services
from .markup import render_markdown
from .models import (
    Announcement,
    AnnouncementAttachment,
    Document,
    DocumentVersion,
    Folder,
    Visibility,
)

User = get_user_model()


class AudiencePermissions(permissions.BasePermission):
    """Reads: signed in (the queryset is the audience). Create: the model's add permission.
    Per-record writes: `has_perm(change|delete, obj)`; actions may declare their own rule."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS or getattr(view, "detail", False):
            return True
        if view.action == "create":
            opts = view.model._meta
            return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        rule = getattr(view, "object_rules", {}).get(view.action)
        if rule is not None:
            return rule(request.user, obj)
        if request.method == "DELETE":
            return services.can_delete(request.user, obj)
        return services.can_change(request.user, obj)


class UploadFileField(serializers.FileField):
    """A file checked by content in the service (apps.docs.uploads), not by DRF."""


class TagListField(serializers.ListField):
    """Tags as a list of names (created on first use)."""

    child = serializers.CharField(max_length=50)

    def to_representation(self, value):
        return [t.name for t in value.all()]


# --- announcements --------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = AnnouncementAttachment
        fields = ["id", "name", "size", "content_type", "url"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


class AnnouncementSerializer(FieldSecuredSerializerMixin, serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True, default=False)
    read_count = serializers.IntegerField(read_only=True, default=0)
    body_html = serializers.SerializerMethodField()
    departments = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Department.objects.all(), required=False
    )
    roles = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Group.objects.all(), required=False
    )
    attachments = AttachmentSerializer(many=True, read_only=True)
    draft = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = Announcement
        fields = [
            "id",
            "title",
            "body",
            "body_html",
            "audience",
            "departments",
            "roles",
            "pinned",
            "requires_read",
            "published_at",
            "publisher",
            "is_read",
            "read_count",
            "attachments",
            "draft",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["publisher", "created_at", "updated_at"]

    def get_body_html(self, obj) -> str:
        return str(render_markdown(obj.body))

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["is_read"] = bool(getattr(instance, "is_read", False))
        data["read_count"] = getattr(instance, "read_count", None) or 0
        return data

    def create(self, validated_data):
        request = self.context["request"]
        return services.announcement_publish(
            by=request.user,
            title=validated_data.get("title", ""),
            body=validated_data.get("body", ""),
            audience=validated_data.get("audience", "everyone"),
            departments=validated_data.get("departments", []),
            roles=validated_data.get("roles", []),
            pinned=validated_data.get("pinned", False),
            requires_read=validated_data.get("requires_read", False),
            published_at=validated_data.get("published_at"),
            draft=validated_data.get("draft", False),
            attachments=request.FILES.getlist("attachments"),
        )

    def update(self, instance, validated_data):
        request = self.context["request"]
        return services.announcement_update(
            announcement=instance,
            by=request.user,
            data=validated_data,
            attachments=request.FILES.getlist("attachments"),
        )


class AnnouncementViewSet(ScopedModelViewSet):
    """Announcements addressed to the caller (plus their own); pinned first, newest first."""

    model = Announcement
    serializer_class = AnnouncementSerializer
    permission_classes = [AudiencePermissions]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_fields = ["pinned", "requires_read", "audience"]
    search_fields = ["title", "body"]
    ordering_fields = ["published_at", "id", "title"]
    object_rules = {
        "read": lambda user, obj: True,
        "remind": services.can_manage_announcement,
        "readers": services.can_manage_announcement,
        "partial_update": services.can_manage_announcement,
        "update": services.can_manage_announcement,
    }

    def get_queryset(self):
        user = self.request.user
        return (
            Announcement.objects.visible_to(user)
            .with_read_state(user)
            .select_related("publisher")
            .prefetch_related("attachments", "departments", "roles")
            .order_by("-pinned", "-published_at", "-id")
        )

    def perform_destroy(self, instance):
        services.announcement_delete(announcement=instance, by=self.request.user)

    @extend_schema(request=None, responses={200: AnnouncementSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        obj = self.get_object()
        services.announcement_mark_read(announcement=obj, by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    @extend_schema(request=None, responses={200: None})
    @action(detail=True, methods=["post"])
    def remind(self, request, pk=None):
        obj = self.get_object()
        return Response(
            {"reminded": services.announcement_remind(announcement=obj, by=request.user)}
        )

    @extend_schema(responses={200: None})
    @action(detail=True, methods=["get"])
    def readers(self, request, pk=None):
        """Who has and has not read it (publisher or change permission only)."""
        obj = self.get_object()
        if not services.can_manage_announcement(request.user, obj):
            self.permission_denied(request)
        data = selectors.announcement_readers(obj)

        def person(u):
            return {"id": u.pk, "name": u.name, "read_at": getattr(u, "read_at", None)}

        return Response(
            {
                "read_count": data["read_count"],
                "unread_count": data["unread_count"],
                "audience_count": data["audience_count"],
                "read": [person(u) for u in data["read"]],
                "unread": [{"id": u.pk, "name": u.name} for u in data["unread"]],
            }
        )


# --- library --------------------------------------------------------------------------------


class VisibilityFieldsMixin(serializers.Serializer):
    departments = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Department.objects.all(), required=False
    )
    roles = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Group.objects.all(), required=False
    )
    users = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=User.objects.filter(is_active=True),
        required=False,
        write_only=True,
        help_text="Named people (guardian view grants).",
    )

    def _set_visibility(self, obj, service, kind: str, validated_data) -> None:
        keys = ("visibility", "departments", "roles", "users")
        if not any(k in validated_data for k in keys):
            return
        service(
            **{kind: obj},
            by=self.context["request"].user,
            visibility=validated_data.get("visibility", obj.visibility),
            departments=validated_data.get("departments", list(obj.departments.all())),
            roles=validated_data.get("roles", list(obj.roles.all())),
            users=validated_data.get("users"),
        )


class FolderSerializer(
    FieldSecuredSerializerMixin, VisibilityFieldsMixin, serializers.ModelSerializer
):
    class Meta:
        model = Folder
        fields = [
            "id",
            "name",
            "parent",
            "description",
            "order",
            "visibility",
            "departments",
            "roles",
            "users",
            "owner",
            "created_at",
        ]
        read_only_fields = ["owner", "created_at"]

    def create(self, validated_data):
        return services.folder_create(
            by=self.context["request"].user,
            name=validated_data.get("name", ""),
            parent=validated_data.get("parent"),
            description=validated_data.get("description", ""),
            order=validated_data.get("order", 0),
            visibility=validated_data.get("visibility", Visibility.INHERIT),
            departments=validated_data.get("departments", []),
            roles=validated_data.get("roles", []),
            users=validated_data.get("users"),
        )

    def update(self, instance, validated_data):
        user = self.context["request"].user
        if "parent" in validated_data and validated_data["parent"] != instance.parent:
            instance = services.folder_move(
                folder=instance, by=user, parent=validated_data["parent"]
            )
        if {"name", "description", "order"} & set(validated_data):
            instance = services.folder_update(
                folder=instance,
                by=user,
                name=validated_data.get("name", instance.name),
                description=validated_data.get("description", instance.description),
                order=validated_data.get("order", instance.order),
            )
        self._set_visibility(instance, services.folder_set_visibility, "folder", validated_data)
        return Folder.objects.get(pk=instance.pk)


class FolderViewSet(ScopedModelViewSet):
    model = Folder
    serializer_class = FolderSerializer
    permission_classes = [AudiencePermissions]
    filterset_fields = ["parent", "visibility"]
    search_fields = ["name"]
    ordering_fields = ["name", "order", "id"]

    def get_queryset(self):
        return (
            Folder.objects.visible_to(self.request.user)
            .prefetch_related("departments", "roles")
            .order_by("order", "name", "id")
        )

    def perform_destroy(self, instance):
        services.folder_delete(folder=instance, by=self.request.user)


class VersionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = DocumentVersion
        fields = [
            "id",
            "number",
            "original_name",
            "size",
            "content_type",
            "note",
            "uploaded_by",
            "uploaded_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        url = reverse("document-download", args=[obj.document_id])
        return f"{url}?version={obj.number}"


class DocumentSerializer(
    CustomFieldsSerializerMixin, VisibilityFieldsMixin, serializers.ModelSerializer
):
    file = serializers.SerializerMethodField(help_text="Download URL of the latest version.")
    upload = UploadFileField(
        write_only=True, required=False, help_text="A file: becomes version 1 (multipart)."
    )
    note = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=300)
    versions = VersionSerializer(many=True, read_only=True)
    tags = TagListField(required=False, max_length=20)
    folder = serializers.PrimaryKeyRelatedField(
        queryset=Folder.objects.all(), required=False, allow_null=True
    )
    body_html = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "folder",
            "body",
            "body_html",
            "tags",
            "file",
            "versions",
            "visibility",
            "departments",
            "roles",
            "users",
            "owner",
            "custom",
            "upload",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["owner", "created_at", "updated_at"]

    def get_file(self, obj) -> str | None:
        if obj.current_version_id is None:
            return None
        return reverse("document-download", args=[obj.pk])

    def get_body_html(self, obj) -> str:
        return str(render_markdown(obj.body))

    def create(self, validated_data):
        return services.document_create(
            by=self.context["request"].user,
            title=validated_data.get("title", ""),
            folder=validated_data.get("folder"),
            body=validated_data.get("body", ""),
            tags=validated_data.get("tags"),
            custom=validated_data.get("custom"),
            visibility=validated_data.get("visibility", Visibility.INHERIT),
            departments=validated_data.get("departments", []),
            roles=validated_data.get("roles", []),
            users=validated_data.get("users"),
            file=validated_data.get("upload"),
            note=validated_data.get("note", ""),
        )

    def update(self, instance, validated_data):
        data = {
            k: validated_data[k]
            for k in ("title", "body", "folder", "tags", "custom")
            if k in validated_data
        }
        if data:
            instance = services.document_update(
                document=instance, by=self.context["request"].user, data=data
            )
        self._set_visibility(instance, services.document_set_visibility, "document", validated_data)
        if validated_data.get("upload") is not None:
            services.document_upload_version(
                document=instance,
                by=self.context["request"].user,
                file=validated_data["upload"],
                note=validated_data.get("note", ""),
            )
        return self.context["view"].get_queryset().get(pk=instance.pk)


class VersionUploadSerializer(serializers.Serializer):
    file = UploadFileField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class DocumentViewSet(ScopedModelViewSet):
    """Library documents the caller may see. `?search=` matches titles, bodies and file names;
    `?folder=`, `?tag=`."""

    model = Document
    serializer_class = DocumentSerializer
    permission_classes = [AudiencePermissions]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_fields = ["folder", "visibility", "owner"]
    # Search is the library's own (titles, bodies, file names), not SearchFilter's.
    search_fields: list[str] = []
    ordering_fields = ["updated_at", "created_at", "title", "id"]
    object_rules = {
        "versions": services.can_change,
        "download": lambda user, obj: True,
    }

    def get_queryset(self):
        qs = Document.objects.visible_to(self.request.user)
        params = self.request.query_params
        tag = (params.get("tag") or "").strip()
        if tag:
            qs = qs.filter(
                pk__in=Document.tags.through.objects.filter(tag__name=tag).values("document_id")
            )
        if self.action == "list":
            access = field_access(self.request.user, Document)
            qs = qs.search(
                params.get("search") or "",
                fields=[f for f in ("title", "body") if access.can_view(f)],
            )
        return (
            qs.select_related("folder", "owner", "current_version")
            .prefetch_related("tags", "departments", "roles", "versions")
            .order_by("-updated_at", "-id")
        )

    def perform_destroy(self, instance):
        services.document_delete(document=instance, by=self.request.user)

    @extend_schema(
        request={"multipart/form-data": VersionUploadSerializer}, responses={201: VersionSerializer}
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def versions(self, request, pk=None):
        """Upload a new version (multipart: file, note)."""
        doc = self.get_object()
        ser = VersionUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        version = services.document_upload_version(
            document=doc,
            by=request.user,
            file=ser.validated_data["file"],
            note=ser.validated_data.get("note", ""),
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The latest version's file, or `?version=N`."""
        from .views import file_response

        doc = self.get_object()
        number = request.query_params.get("version")
        versions = DocumentVersion.objects.filter(document=doc)
        if number:
            version = versions.filter(number=number).first() if number.isdigit() else None
        else:
            version = doc.current_version
        if version is None:
            from django.http import Http404

            raise Http404(_("No such version."))
        return file_response(version.file, version.original_name, version.content_type)


def register(router) -> None:
    router.register("announcements", AnnouncementViewSet, basename="announcement")
    router.register("folders", FolderViewSet, basename="folder")
    router.register("documents", DocumentViewSet, basename="document")
