"""API for automation (staff only): automation-rules/ (with nested conditions and actions) and
automation-runs/ (the log; POST {id}/rerun/ for a failed run)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .automation import engine, registry
from .models import AutomationRule, RuleAction, RuleCondition, RuleRun


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ConditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleCondition
        fields = ["field", "operator", "value"]


class ActionSerializer(serializers.ModelSerializer):
    params = serializers.JSONField(required=False)

    class Meta:
        model = RuleAction
        fields = ["kind", "params"]


class RuleSerializer(serializers.ModelSerializer):
    model = serializers.CharField(required=False, help_text="e.g. customers.customer")
    conditions = ConditionSerializer(many=True, required=False)
    actions = ActionSerializer(many=True, required=False)

    class Meta:
        model = AutomationRule
        fields = [
            "id",
            "name",
            "description",
            "model",
            "active",
            "trigger",
            "trigger_field",
            "from_value",
            "to_value",
            "schedule_field",
            "schedule_offset_days",
            "match",
            "order",
            "conditions",
            "actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, rule):
        data = super().to_representation(rule)
        data["model"] = rule.model_label
        return data

    def validate(self, attrs):
        label = attrs.pop("model", None)
        rule = AutomationRule(
            **{k: v for k, v in attrs.items() if k not in ("conditions", "actions")}
        )
        if self.instance is not None:
            for f in AutomationRule._meta.concrete_fields:
                if f.attname not in attrs and f.name not in attrs:
                    setattr(rule, f.attname, getattr(self.instance, f.attname))
        if label is not None:
            spec = registry.spec_for(label)
            if spec is None:
                raise serializers.ValidationError({"model": [_("Unknown model.")]})
            rule.content_type = ContentType.objects.get_for_model(spec.model)
        elif self.instance is None:
            raise serializers.ValidationError({"model": [_("This field is required.")]})
        errors = {}
        try:
            rule.full_clean(exclude=["created_by"], validate_unique=False)
        except DjangoValidationError as exc:
            errors.update(exc.message_dict)
        for key, model in (("conditions", RuleCondition), ("actions", RuleAction)):
            rows = []
            for i, item in enumerate(attrs.get(key) or []):
                row = model(rule=rule, order=i, **item)
                try:
                    row.clean()
                except DjangoValidationError as exc:
                    errors[f"{key}[{i}]"] = exc.messages
                rows.append(row)
            attrs[f"_{key}"] = rows
        if errors:
            raise serializers.ValidationError(errors)
        attrs["content_type"] = rule.content_type
        return attrs

    def _children(self, validated) -> dict:
        out = {}
        for key in ("conditions", "actions"):
            rows = validated.pop(f"_{key}")
            given = validated.pop(key, None)
            # On update, conditions/actions not sent are kept; sent ones replace the old.
            out[key] = rows if given is not None or self.instance is None else None
        return out

    def _save_children(self, rule, children: dict) -> None:
        for key, model in (("conditions", RuleCondition), ("actions", RuleAction)):
            if children[key] is None:
                continue
            model.objects.filter(rule=rule).delete()
            for row in children[key]:
                row.rule = rule
                row.save()

    @transaction.atomic
    def create(self, validated):
        children = self._children(validated)
        rule = AutomationRule.objects.create(created_by=self.context["request"].user, **validated)
        self._save_children(rule, children)
        return rule

    @transaction.atomic
    def update(self, rule, validated):
        children = self._children(validated)
        for k, v in validated.items():
            setattr(rule, k, v)
        rule.save()
        self._save_children(rule, children)
        return rule


class RuleViewSet(viewsets.ModelViewSet):
    serializer_class = RuleSerializer
    permission_classes = [IsStaff]
    filterset_fields = ["active", "trigger"]
    search_fields = ["name"]
    ordering_fields = ["id", "order", "name"]
    ordering = ["order", "id"]

    def get_queryset(self):
        return AutomationRule.objects.select_related("content_type").prefetch_related(
            "conditions", "actions"
        )


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleRun
        fields = [
            "id",
            "rule",
            "object_id",
            "record_label",
            "trigger",
            "depth",
            "status",
            "attempts",
            "actions_done",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer
    permission_classes = [IsStaff]
    filterset_fields = ["rule", "status", "trigger"]
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]
    queryset = RuleRun.objects.all()

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        run = self.get_object()
        if run.status != RuleRun.Status.FAILED:
            raise serializers.ValidationError({"detail": _("Only a failed run can run again.")})
        with transaction.atomic():
            engine.rerun(run)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data)


def register(router) -> None:
    router.register("automation-rules", RuleViewSet, basename="automation-rule")
    router.register("automation-runs", RunViewSet, basename="automation-run")
