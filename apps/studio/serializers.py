"""Custom fields and field security on any DRF ModelSerializer, with one mixin.

    class CustomerSerializer(CustomFieldsSerializerMixin, serializers.ModelSerializer):
        class Meta:
            model = Customer
            fields = ["id", "name", ..., "custom"]

Reads: `"custom": {"<key>": value}` without hidden keys. Writes: validated by
`validate_custom`; errors come back as `{"custom": {"<key>": ["message"]}}`; writing a
restricted field (built-in or custom) is a 400 naming it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.org.api_base import FieldSecuredSerializerMixin

from .validation import validate_custom


class CustomValuesField(serializers.JSONField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("Custom fields must be an object of key: value."))
        return data

    def to_representation(self, value):
        return value or {}


class CustomFieldsSerializerMixin(FieldSecuredSerializerMixin):
    def get_fields(self):
        fields = super().get_fields()
        if "custom" in fields and not isinstance(fields["custom"], CustomValuesField):
            fields["custom"] = CustomValuesField()
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance if not isinstance(self.instance, list | tuple) else None
        if "custom" in attrs or instance is None:
            clean, errors = validate_custom(
                self.Meta.model, attrs.get("custom"), instance=instance, partial=self.partial
            )
            if errors:
                raise serializers.ValidationError({"custom": errors})
            attrs["custom"] = clean
        return attrs
