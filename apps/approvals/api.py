"""API (DESIGN §5): approval-templates/, approvals/, approval-tasks/.

approvals/ lists what the caller may see (own requests, requests in their roles' scope,
requests they approve or are copied on); creating needs `approvals.add_approvalrequest`.
approval-tasks/ lists the caller's pending tasks; acting on someone else's task is a 404, on a
task already decided a 409. Every write goes through `services`.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from viewflow.workflow.models import Task

from apps.org.api_base import ScopedQuerysetMixin
from apps.studio.serializers import CustomFieldsSerializerMixin

from . import selectors, services
from .data import clean_request_data
from .models import (
    ApprovalAction,
    ApprovalAttachment,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTemplate,
)

# --- templates ------------------------------------------------------------------------------


class ApprovalStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalStep
        fields = [
            "id",
            "order",
            "name",
            "approver_type",
            "mode",
            "condition",
            "allow_return",
            "due_hours",
        ]
        read_only_fields = fields


class ApprovalTemplateSerializer(serializers.ModelSerializer):
    steps = ApprovalStepSerializer(many=True, read_only=True)

    class Meta:
        model = ApprovalTemplate
        fields = ["id", "code", "name", "kind", "description", "active", "extra_fields", "steps"]
        read_only_fields = fields


class ApprovalTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Approval templates: active ones for everyone signed in, all of them for staff."""

    serializer_class = ApprovalTemplateSerializer
    filterset_fields = ["kind", "code", "active"]
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "name", "order"]
    ordering = ["order", "name"]

    def get_queryset(self):
        qs = ApprovalTemplate.objects.prefetch_related("steps")
        user = getattr(self.request, "user", None)
        if user is None or not (user.is_staff or user.has_perm("approvals.view_approvaltemplate")):
            qs = qs.filter(active=True)
        return qs


# --- requests -------------------------------------------------------------------------------


class ApprovalActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalAction
        fields = [
            "id",
            "round",
            "step_index",
            "step_name",
            "kind",
            "actor",
            "target",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class ApprovalAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalAttachment
        fields = ["id", "name", "size", "line", "url"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


@extend_schema_field(OpenApiTypes.STR)
class TemplateRefField(serializers.Field):
    """A template by id (integer) or code (string); read back as its id."""

    default_error_messages = {"invalid": _("No such approval template.")}

    def to_representation(self, value):
        return value.pk

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        try:
            return services.get_template(data)
        except services.ServiceError:
            self.fail("invalid")


@extend_schema_field(OpenApiTypes.STR)
class SubjectTypeField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return f"{value.app_label}.{value.model}" if value is not None else None


class ApprovalRequestSerializer(CustomFieldsSerializerMixin, serializers.ModelSerializer):
    template = TemplateRefField()
    template_code = serializers.CharField(source="template.code", read_only=True)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    data = serializers.JSONField(required=False)
    subject_type = SubjectTypeField()
    current_step_name = serializers.CharField(read_only=True)
    history = ApprovalActionSerializer(source="actions", many=True, read_only=True)
    attachments = ApprovalAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "template",
            "template_code",
            "title",
            "amount",
            "data",
            "status",
            "initiator",
            "department",
            "subject_type",
            "subject_id",
            "round",
            "current_step",
            "current_step_name",
            "created_at",
            "submitted_at",
            "decided_at",
            "custom",
            "history",
            "attachments",
        ]
        read_only_fields = [
            "status",
            "initiator",
            "department",
            "subject_id",
            "round",
            "current_step",
            "created_at",
            "submitted_at",
            "decided_at",
        ]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        template = attrs.get("template") or getattr(self.instance, "template", None)
        if template is not None:
            data, amount, errors = clean_request_data(
                template.kind, template.extra_fields, attrs.get("data"), attrs.get("amount")
            )
            if errors:
                amount_errors = errors.pop("amount", None)
                payload = {"data": errors} if errors else {}
                if amount_errors:
                    payload["amount"] = amount_errors
                raise serializers.ValidationError(payload)
        return attrs

    def create(self, validated_data):
        request = services.approval_start(
            template=validated_data["template"],
            by=self.context["request"].user,
            title=validated_data.get("title", ""),
            amount=validated_data.get("amount"),
            data=validated_data.get("data"),
            custom=validated_data.get("custom"),
        )
        return selectors.request_detail(user=self.context["request"].user, pk=request.pk)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ResubmitSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    data = serializers.JSONField(required=False)
    custom = serializers.JSONField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class AttachSerializer(serializers.Serializer):
    file = serializers.FileField()
    line = serializers.IntegerField(required=False, min_value=0, max_value=49)


class ApprovalRequestPermissions(permissions.BasePermission):
    """Reading is scoped by the queryset; creating needs the model's add permission; the
    actions (withdraw, resubmit, comment) are checked by the services."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if view.action == "create":
            return request.user.has_perm("approvals.add_approvalrequest")
        return True


class ApprovalRequestViewSet(
    ScopedQuerysetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    model = ApprovalRequest
    serializer_class = ApprovalRequestSerializer
    permission_classes = [ApprovalRequestPermissions]
    filterset_fields = ["status", "template", "initiator", "department", "subject_id"]
    search_fields = ["title"]
    ordering_fields = ["id", "created_at", "submitted_at", "decided_at", "amount", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        # One visibility for reads and actions: the services decide who may act.
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        return (
            ApprovalRequest.objects.visible_to(self.request.user)
            .select_related("template", "subject_type")
            .prefetch_related("actions", "attachments")
        )

    def _respond(self, request_obj):
        fresh = self.get_queryset().get(pk=request_obj.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=CommentSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        ser = CommentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        obj = services.approval_withdraw(
            request=self.get_object(), by=request.user, comment=ser.validated_data["comment"]
        )
        return self._respond(obj)

    @extend_schema(request=ResubmitSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def resubmit(self, request, pk=None):
        ser = ResubmitSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        obj = services.approval_resubmit(
            request=self.get_object(), by=request.user, **ser.validated_data
        )
        return self._respond(obj)

    @extend_schema(request=CommentSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        ser = CommentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        obj = self.get_object()
        services.approval_comment(
            request=obj, by=request.user, comment=ser.validated_data["comment"]
        )
        return self._respond(obj)

    @extend_schema(
        request={"multipart/form-data": AttachSerializer}, responses=ApprovalRequestSerializer
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """Upload files (multipart, field "file", repeatable; "line" = expense line index)."""
        ser = AttachSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        obj = self.get_object()
        line = ser.validated_data.get("line")
        files = [(f, line) for f in request.FILES.getlist("file")]
        services.approval_attach(request=obj, by=request.user, files=files)
        return self._respond(obj)


# --- tasks ----------------------------------------------------------------------------------


class ApprovalTaskSerializer(serializers.ModelSerializer):
    approval = serializers.SerializerMethodField()
    approval_title = serializers.SerializerMethodField()
    initiator = serializers.SerializerMethodField()
    step = serializers.SerializerMethodField()
    step_name = serializers.SerializerMethodField()
    assignee = serializers.IntegerField(source="owner_id", read_only=True)
    due_at = serializers.DateTimeField(source="scheduled", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "approval",
            "approval_title",
            "initiator",
            "step",
            "step_name",
            "assignee",
            "status",
            "created",
            "due_at",
        ]
        read_only_fields = fields

    def get_approval(self, task) -> int | None:
        request = selectors.task_request(task)
        return request.pk if request else None

    def get_approval_title(self, task) -> str:
        request = selectors.task_request(task)
        return request.title if request else ""

    def get_initiator(self, task) -> int | None:
        request = selectors.task_request(task)
        return request.initiator_id if request else None

    def get_step(self, task) -> int | None:
        return task.data.get("step")

    def get_step_name(self, task) -> str:
        return selectors.step_name(task)


class TransferSerializer(CommentSerializer):
    to = serializers.IntegerField()


class ApprovalTaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's pending approval tasks; POST {id}/approve|reject|return|transfer|comment/."""

    serializer_class = ApprovalTaskSerializer
    ordering_fields = ["id", "created", "scheduled"]
    ordering = ["created", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        if self.action == "list":
            return selectors.pending_tasks_for(self.request.user)
        # A decided task stays addressable by its assignee, so a second click is a 409.
        return selectors.tasks_of_user(self.request.user)

    def _decide(self, request, service):
        ser = CommentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        obj = service(
            task=self.get_object(), by=request.user, comment=ser.validated_data["comment"]
        )
        return Response(
            {"approval": obj.pk, "status": obj.status, "current_step": obj.current_step}
        )

    @extend_schema(request=CommentSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, services.approval_task_approve)

    @extend_schema(request=CommentSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.approval_task_reject)

    @extend_schema(request=CommentSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        return self._decide(request, services.approval_task_return)

    @extend_schema(request=TransferSerializer, responses=ApprovalTaskSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        ser = TransferSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        task = services.approval_task_transfer(
            task=self.get_object(),
            by=request.user,
            to=ser.validated_data["to"],
            comment=ser.validated_data["comment"],
        )
        task = Task.objects.select_related("process__approval_request").get(pk=task.pk)
        return Response(self.get_serializer(task).data)

    @extend_schema(request=CommentSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        ser = CommentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        action_row = services.approval_task_comment(
            task=self.get_object(), by=request.user, comment=ser.validated_data["comment"]
        )
        return Response(ApprovalActionSerializer(action_row).data)


def register(router) -> None:
    router.register("approval-templates", ApprovalTemplateViewSet, basename="approval-template")
    router.register("approvals", ApprovalRequestViewSet, basename="approval")
    router.register("approval-tasks", ApprovalTaskViewSet, basename="approval-task")
