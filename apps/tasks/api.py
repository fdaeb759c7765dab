"""API (DESIGN §5): `tasks/` (with `{id}/comments/`) and `todos/` (the caller's to-do inbox).

Tasks are scoped (`visible_to`: assignee, creator, participants, plus the role data scope over
the assignee's department); a task outside it is a 404. Writes go through `apps.tasks.services`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.customers.models import Customer
from apps.org.api_base import FieldSecuredSerializerMixin, ScopedModelViewSet
from apps.org.api_support import FieldSecureSearchFilter

from . import inbox, selectors, services
from .filters import TaskFilter
from .models import Task, TaskAttachment, TaskComment

User = get_user_model()


class _ActiveUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return User.objects.filter(is_active=True)


class _VisibleField(serializers.PrimaryKeyRelatedField):
    """A reference to a record the caller can see (anything else: "Invalid pk")."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return self.model.objects.none()
        return self.model.objects.visible_to(user)


class LinkTypeField(serializers.CharField):
    """The linked record's type as "app_label.model" (e.g. "customers.ticket")."""

    def to_representation(self, value):
        if value is None:
            return None
        ct = ContentType.objects.get_for_id(value)  # cached: no query per row
        return f"{ct.app_label}.{ct.model}"


class TaskSerializer(FieldSecuredSerializerMixin, serializers.ModelSerializer):
    assignee = _ActiveUserField(required=False)
    assignee_name = serializers.StringRelatedField(source="assignee", read_only=True)
    creator_name = serializers.StringRelatedField(source="creator", read_only=True)
    parent = _VisibleField(Task, allow_null=True, required=False)
    customer = _VisibleField(Customer, allow_null=True, required=False)
    customer_name = serializers.CharField(source="customer.name", read_only=True, default=None)
    participants = _ActiveUserField(many=True, required=False)
    link_type = LinkTypeField(
        source="link_type_id", allow_null=True, required=False, allow_blank=True
    )
    link_id = serializers.IntegerField(allow_null=True, required=False, min_value=1)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "assignee",
            "assignee_name",
            "creator",
            "creator_name",
            "parent",
            "status",
            "priority",
            "due_at",
            "remind_at",
            "repeat",
            "repeat_until",
            "customer",
            "customer_name",
            "participants",
            "link_type",
            "link_id",
            "progress",
            "depth",
            "created_at",
            "updated_at",
            "started_at",
            "completed_at",
        ]
        read_only_fields = [
            "creator",
            "progress",
            "depth",
            "created_at",
            "updated_at",
            "started_at",
            "completed_at",
        ]

    @property
    def by(self):
        return self.context["request"].user

    def _link_data(self, validated_data) -> dict:
        out = {}
        if "link_type_id" in validated_data or "link_id" in validated_data:
            out["link_type"] = validated_data.pop("link_type_id", None) or None
            out["link_id"] = validated_data.pop("link_id", None)
            if out["link_type"] is None and out["link_id"] is None:
                out["link"] = None
        return out

    def create(self, validated_data):
        status = validated_data.pop("status", Task.Status.TODO)
        if status != Task.Status.TODO:
            raise ValidationError({"status": [_("A new task starts as “to do”.")]})
        parent = validated_data.pop("parent", None)
        data = {**validated_data, **self._link_data(validated_data)}
        return services.task_create(by=self.by, data=data, parent=parent)

    def update(self, instance, validated_data):
        status = validated_data.pop("status", None)
        data = {**validated_data, **self._link_data(validated_data)}
        task = services.task_update(task=instance, by=self.by, data=data)
        if status is not None and status != task.status:
            task = services.task_set_status(task=task, status=status, by=self.by)
        return task


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = TaskAttachment
        fields = ["id", "name", "size", "content_type", "url"]

    def get_url(self, obj) -> str:
        # The API download (token or session auth); pages link to tasks:attachment instead.
        return reverse("task-attachment", args=[obj.comment.task_id, obj.pk])


class CommentSerializer(serializers.ModelSerializer):
    author_name = serializers.StringRelatedField(source="author", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    files = serializers.ListField(
        child=serializers.FileField(), write_only=True, required=False, allow_empty=True
    )

    class Meta:
        model = TaskComment
        fields = [
            "id",
            "task",
            "author",
            "author_name",
            "body",
            "mentions",
            "created_at",
            "attachments",
            "files",
        ]
        read_only_fields = ["task", "author", "mentions", "created_at"]
        extra_kwargs = {"body": {"required": False, "allow_blank": True}}


class CommentAccess(permissions.BasePermission):
    """Whoever may see the task reads and writes its comments (the queryset decides: 404)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "view",
            OpenApiTypes.STR,
            enum=list(selectors.VIEWS),
            description="mine / created / participating / team / all (default)",
        )
    ]
)
class TaskViewSet(ScopedModelViewSet):
    model = Task
    serializer_class = TaskSerializer
    filter_backends = [
        DjangoFilterBackend,
        FieldSecureSearchFilter,
        filters.OrderingFilter,
    ]
    filterset_class = TaskFilter
    search_fields = ["title", "description"]
    ordering_fields = ["id", "created_at", "updated_at", "due_at", "priority", "status", "progress"]
    ordering = ["-created_at", "-id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        cached = getattr(self, "_scoped", None)
        if cached is None:
            view = self.request.query_params.get("view", "all")
            if view not in selectors.VIEWS:
                raise ValidationError({"view": [_("Unknown view.")]})
            cached = self._scoped = selectors.task_queryset(
                user=self.request.user, view=view
            ).prefetch_related(
                Prefetch("participants", queryset=User.objects.order_by("id").only("pk"))
            )
        return cached.all()

    def perform_destroy(self, instance):
        services.task_delete(task=instance, by=self.request.user)

    def _comments(self, task):
        return (
            TaskComment.objects.filter(task=task)
            .select_related("author")
            .prefetch_related(
                Prefetch(
                    "attachments",
                    queryset=TaskAttachment.objects.select_related("comment").order_by("id"),
                )
            )
            .order_by("created_at", "id")
        )

    @extend_schema(methods=["GET"], responses=CommentSerializer(many=True), request=None)
    @extend_schema(methods=["POST"], request=CommentSerializer, responses=CommentSerializer)
    @action(detail=True, methods=["get", "post"], permission_classes=[CommentAccess])
    def comments(self, request, pk=None):
        """GET: the task's comments (oldest first, paginated). POST: add one — JSON
        `{"body"}` or multipart with `body` and `files` (repeat for several); @mentions
        notify the colleagues named."""
        task = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(self._comments(task))
            ser = CommentSerializer(page, many=True, context=self.get_serializer_context())
            return self.get_paginated_response(ser.data)
        ser = CommentSerializer(data=request.data, context=self.get_serializer_context())
        ser.is_valid(raise_exception=True)
        files = request.FILES.getlist("files") if hasattr(request, "FILES") else []
        comment = services.comment_add(
            task=task, by=request.user, body=ser.validated_data.get("body", ""), files=files
        )
        out = self._comments(task).get(pk=comment.pk)
        return Response(
            CommentSerializer(out, context=self.get_serializer_context()).data, status=201
        )

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        permission_classes=[CommentAccess],
    )
    def attachment(self, request, pk=None, attachment_id=None):
        """Download a comment's file (only for who may see the task)."""
        from .views import file_response

        task = self.get_object()
        att = TaskAttachment.objects.filter(pk=attachment_id, comment__task=task).first()
        if att is None:
            raise NotFound
        return file_response(att)

    @extend_schema(responses=TaskSerializer(many=True))
    @action(detail=True, methods=["get"])
    def subtasks(self, request, pk=None):
        """Every task below this one (depth-first), each with its `depth`."""
        task = self.get_object()
        ids = [t.pk for t in selectors.subtree(task)]
        rows = {t.pk: t for t in self.get_queryset().filter(pk__in=ids)}
        visible = [rows[i] for i in ids if i in rows]
        return Response(self.get_serializer(visible, many=True).data)


# --- the to-do inbox ------------------------------------------------------------------------


class TodoItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    object_id = serializers.IntegerField(allow_null=True)
    subtitle = serializers.CharField()
    overdue = serializers.BooleanField()


class TodoKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    icon = serializers.CharField()
    count = serializers.IntegerField()


class TodoViewSet(viewsets.ViewSet):
    """The caller's to-do items from every app (approvals, tasks, follow-ups, tickets,
    announcements, and whatever else registers a provider)."""

    permission_classes = [permissions.IsAuthenticated]
    max_page_size = 200

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, description="only this kind"),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses=inline_serializer(
            "TodoPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "results": TodoItemSerializer(many=True),
            },
        ),
    )
    def list(self, request):
        """Items soonest due first (items without a due time last), paginated; `counts` gives
        the number waiting per kind (all kinds, whatever `?kind=`)."""
        params = request.query_params
        errors = {}
        try:
            page = int(params.get("page", "1"))
            if page < 1:
                raise ValueError
        except ValueError:
            errors["page"] = [_("Give a page number from 1.")]
            page = 1
        try:
            size = int(params.get("page_size", "20"))
            if not 1 <= size <= self.max_page_size:
                raise ValueError
        except ValueError:
            errors["page_size"] = [
                _("Give a page size from 1 to %(n)s.") % {"n": self.max_page_size}
            ]
            size = 20
        kind = params.get("kind") or None
        if kind and inbox.provider(request.user, kind) is None:
            errors["kind"] = [_("Unknown kind.")]
        if errors:
            raise ValidationError(errors)
        count, per_kind, rows = inbox.items(
            request.user, kind=kind, offset=(page - 1) * size, limit=size
        )
        if kind:
            # `counts` always covers every kind (one COUNT each for the others).
            per_kind = {p.kind: n for p, n in inbox.counts(request.user)}

        def link(n):
            query = params.copy()
            query["page"] = str(n)
            return request.build_absolute_uri(request.path) + "?" + query.urlencode()

        return Response(
            {
                "count": count,
                "next": link(page + 1) if page * size < count else None,
                "previous": link(page - 1) if page > 1 and (page - 1) * size < count else None,
                "counts": per_kind,
                "results": TodoItemSerializer(rows, many=True).data,
            }
        )

    @extend_schema(
        responses=inline_serializer(
            "TodoCounts",
            {"total": serializers.IntegerField(), "kinds": TodoKindSerializer(many=True)},
        )
    )
    @action(detail=False, methods=["get"])
    def counts(self, request):
        """How many items wait per kind (one COUNT per kind) and in all."""
        kinds = [
            {"kind": p.kind, "label": str(p.label), "icon": p.icon, "count": n}
            for p, n in inbox.counts(request.user)
        ]
        return Response({"total": sum(k["count"] for k in kinds), "kinds": kinds})


def register(router) -> None:
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("tasks", TaskViewSet, basename="task")
    router.register("todos", TodoViewSet, basename="todo")
    from . import calendar_api

    calendar_api.register(router)
