"""Request forms: title/amount, the kind's typed fields, the template's extra fields, custom
fields (studio mixin) and, for expenses and purchases, a formset of lines.

Form fields are made from the same FieldDefinitions `data.py` validates with, so a field looks
and checks the same everywhere. Forms check shape; `services` check meaning and their field
errors are mapped back onto the form (`apply_service_errors`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from apps.studio.forms import CustomFieldsFormMixin, form_field_for
from apps.studio.models import FieldType

from .data import (
    KINDS_WITH_LINES,
    KINDS_WITHOUT_AMOUNT,
    extra_definitions,
    kind_fields,
    line_fields,
)
from .models import ApprovalRequest, Kind

DATA_PREFIX = "data__"


def _style(field: forms.Field) -> forms.Field:
    widget = field.widget
    if isinstance(widget, forms.CheckboxInput):
        widget.attrs.setdefault("class", "form-check-input")
    elif isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple):
        widget.attrs.setdefault("class", "form-select")
    elif not isinstance(widget, forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-control")
    return field


def _raw(d, value):
    """A cleaned form value -> what `clean_value` accepts (user objects, dates, decimals)."""
    if value is None or value == "":
        return None
    if d.type == FieldType.USER and hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.date | Decimal):
        return value
    return value


def _initial(d, value):
    if value in (None, ""):
        return None
    if d.type == FieldType.USER:
        return get_user_model().objects.filter(pk=value).first()
    return value


class RequestForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = ApprovalRequest
        fields = ["title", "amount"]

    def __init__(self, *args, kind: str, extra_specs=None, initial_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["title"].widget.attrs.setdefault("autocomplete", "off")
        if kind in KINDS_WITH_LINES or kind in KINDS_WITHOUT_AMOUNT:
            del self.fields["amount"]
        else:
            self.fields["amount"].required = False
            self.fields["amount"].help_text = ""
        self.data_definitions = kind_fields(kind) + extra_definitions(extra_specs)
        initial_data = initial_data or {}
        for d in self.data_definitions:
            field = _style(form_field_for(d))
            field.initial = _initial(d, initial_data.get(d.key))
            if d.key == "days":
                field.required = False
            self.fields[DATA_PREFIX + d.key] = field

    def data_payload(self) -> dict:
        """The typed and extra values as raw data for the service (lines are added apart)."""
        payload = {}
        for d in self.data_definitions:
            value = _raw(d, self.cleaned_data.get(DATA_PREFIX + d.key))
            if d.type == FieldType.BOOLEAN:
                value = bool(value)
            if value not in (None, [], ""):
                payload[d.key] = value
        return payload


class LineForm(forms.Form):
    """One expense or purchase line; fields come from data.line_fields(kind)."""

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.definitions = line_fields(kind)
        for d in self.definitions:
            field = _style(form_field_for(d))
            self.fields[d.key] = field
        if kind == Kind.EXPENSE:
            self.fields["receipt"] = _style(forms.FileField(label=_("Receipt"), required=False))

    def payload(self) -> dict:
        return {
            d.key: _raw(d, self.cleaned_data.get(d.key))
            for d in self.definitions
            if self.cleaned_data.get(d.key) not in (None, "")
        }


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, kind: str, **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "kind": self.kind}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            kind=self.kind,
        )
        self.add_fields(form, None)
        return form

    def used_forms(self) -> list[LineForm]:
        return [
            f
            for f in self.forms
            if f.has_changed() and not (self.can_delete and self._should_delete_form(f))
        ]


def line_formset(kind: str, *, data=None, files=None, initial=None, extra: int = 1):
    formset_class = forms.formset_factory(
        LineForm, formset=BaseLineFormSet, extra=extra, can_delete=True, max_num=50
    )
    return formset_class(data=data, files=files, initial=initial, prefix="lines", kind=kind)


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class TransferForm(DecisionForm):
    to = forms.ModelChoiceField(
        label=_("Transfer to"),
        queryset=get_user_model().objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, exclude=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk__in=list(exclude))
            .order_by("username")
        )


def apply_service_errors(errors: dict, form: RequestForm, formset=None) -> None:
    """Put a ServiceError's {"data.x"|"data.lines.0.y"|"title"|"custom.k": [..]} on the form."""
    for key, messages in errors.items():
        target = None
        if key.startswith("data.lines.") and formset is not None:
            parts = key.split(".")
            used = formset.used_forms()
            if len(parts) >= 4 and parts[2].isdigit() and int(parts[2]) < len(used):
                line_form = used[int(parts[2])]
                name = parts[3] if parts[3] in line_form.fields else None
                for message in messages:
                    line_form.add_error(name, message)
                continue
        elif key.startswith("data."):
            name = DATA_PREFIX + key[len("data.") :]
            target = name if name in form.fields else None
        elif key.startswith("custom."):
            name = "custom__" + key[len("custom.") :]
            target = name if name in form.fields else None
        elif key in form.fields:
            target = key
        for message in messages:
            form.add_error(target, message)
