"""Excel import/export base: custom-field columns, field security and formula safety.

    class CustomerResource(WeftResource):
        class Meta:
            model = Customer
            fields = ("id", "name", "phone", ...)

    CustomerResource(user=request.user).export(queryset)

One column per active custom field (header = its label) is added; columns the user may not
see are dropped; cell values that a spreadsheet would run as a formula are neutralised. On
import, custom values go through `validate_custom`, so a bad cell is a per-row field error.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from apps.org.fields import field_access

from .registry import definitions_for
from .validation import clean_value, display_value

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralise(value):
    """Prefix text a spreadsheet would evaluate (=, +, -, @, …) with a quote.

    A plain number such as "-5.00" is data, not a formula, and stays as it is.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


class CustomValueWidget(widgets.Widget):
    def __init__(self, definition):
        super().__init__()
        self.definition = definition

    def clean(self, value, row=None, **kwargs):
        try:
            return clean_value(self.definition, value, check_unique=False)
        except ValidationError as exc:
            raise ValueError("; ".join(exc.messages)) from None

    def render(self, value, obj=None, **kwargs):
        return display_value(self.definition, value)


class CustomValueField(fields.Field):
    """A column backed by one key of the `custom` JSON dict."""

    def __init__(self, definition):
        # The attribute is never read (get_value/save below use the custom dict) but must be
        # set: import-export skips fields without one on import, and names row errors by it.
        super().__init__(
            attribute=f"custom__{definition.key}",
            column_name=definition.label,
            widget=CustomValueWidget(definition),
        )
        self.definition = definition

    def get_value(self, obj):
        return (getattr(obj, "custom", None) or {}).get(self.definition.key)

    def save(self, instance, row, is_m2m=False, **kwargs):
        value = self.clean(row, **kwargs)
        custom = dict(instance.custom or {})
        if value in (None, "", []):
            custom.pop(self.definition.key, None)
        else:
            custom[self.definition.key] = value
        instance.custom = custom

    def export(self, instance, **kwargs):
        return self.widget.render(self.get_value(instance))


class WeftResource(resources.ModelResource):
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        model = self._meta.model
        access = field_access(user, model) if user is not None else None
        for d in definitions_for(model):
            self.fields[f"custom__{d.key}"] = CustomValueField(d)
        if access is not None:
            for name in list(self.fields):
                base = name[len("custom__") :] if name.startswith("custom__") else name
                if not access.can_view(base):
                    del self.fields[name]

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))

    def import_data(self, dataset, *args, **kwargs):
        # All or nothing (DESIGN §2): import-export only rolls back on exceptions unless told,
        # so a file with one invalid row would otherwise commit every valid one.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, *args, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        # Refuse columns the importing user may not write.
        if self.user is not None:
            access = field_access(self.user, self._meta.model)
            if access.hidden or access.readonly:
                for name, field in self.fields.items():
                    base = name[len("custom__") :] if name.startswith("custom__") else name
                    if field.column_name in row and not access.can_change(base):
                        raise ValidationError({name: [_("You may not import this field.")]})
        super().import_instance(instance, row, **kwargs)
