"""API: custom-fields/ (read for everyone signed in, write for staff), DESIGN §5."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers, viewsets

from .models import FieldDefinition, FieldType
from .registry import is_registered


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


@extend_schema_field(OpenApiTypes.STR)
class ModelLabelField(serializers.Field):
    """A registered model as "app_label.model", e.g. "customers.customer"."""

    # Lazy: evaluated at import otherwise, frozen in the language active then.
    default_error_messages = {"invalid": gettext_lazy("Unknown model '{value}'.")}

    def to_representation(self, ct: ContentType) -> str:
        return f"{ct.app_label}.{ct.model}"

    def to_internal_value(self, data) -> ContentType:
        if not isinstance(data, str) or "." not in data:
            self.fail("invalid", value=data)
        app_label, model = data.lower().split(".", 1)
        try:
            ct = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            self.fail("invalid", value=data)
        model_class = ct.model_class()
        if model_class is None or not is_registered(model_class):
            self.fail("invalid", value=data)
        return ct


class FieldDefinitionSerializer(serializers.ModelSerializer):
    model = ModelLabelField(source="content_type")
    type = serializers.ChoiceField(choices=FieldType.choices)
    choices = serializers.JSONField(required=False)
    default = serializers.JSONField(required=False, allow_null=True)

    class Meta:
        model = FieldDefinition
        fields = [
            "id",
            "model",
            "key",
            "label",
            "type",
            "required",
            "unique",
            "choices",
            "min_value",
            "max_value",
            "decimal_places",
            "regex",
            "regex_message",
            "default",
            "help_text",
            "section",
            "order",
            "show_in_list",
            "active",
        ]

    def validate(self, attrs):
        instance = self.instance or FieldDefinition()
        if (
            self.instance is not None
            and "content_type" in attrs
            and attrs["content_type"] != self.instance.content_type
        ):
            raise serializers.ValidationError({"model": [_("The model of a field cannot change.")]})
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(validate_unique=True)
        except DjangoValidationError as exc:
            errors = {
                ("model" if k == "content_type" else k): v for k, v in exc.message_dict.items()
            }
            raise serializers.ValidationError(errors) from None
        attrs["choices"] = instance.choices
        attrs["default"] = instance.default
        return attrs


class FieldDefinitionViewSet(viewsets.ModelViewSet):
    """Custom-field definitions. Deleting a field keeps stored values; deactivate to hide it."""

    serializer_class = FieldDefinitionSerializer
    permission_classes = [IsStaffOrReadOnly]
    filterset_fields = ["type", "active", "required"]
    search_fields = ["key", "label"]
    ordering_fields = ["id", "order", "key"]
    ordering = ["content_type_id", "order", "id"]

    def get_queryset(self):
        qs = FieldDefinition.objects.select_related("content_type")
        model = self.request.query_params.get("model")
        if model and "." in model:
            app_label, name = model.lower().split(".", 1)
            qs = qs.filter(content_type__app_label=app_label, content_type__model=name)
        return qs

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.save()

    @transaction.atomic
    def perform_update(self, serializer):
        serializer.save()


def register(router) -> None:
    from .automation_api import register as register_automation

    router.register("custom-fields", FieldDefinitionViewSet, basename="custom-field")
    register_automation(router)
