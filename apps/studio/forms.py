"""Custom fields, field security and the form layout on any ModelForm, with one mixin.

    class CustomerForm(CustomFieldsFormMixin, forms.ModelForm):
        class Meta:
            model = Customer
            fields = ["name", "industry", ...]

    form = CustomerForm(request.POST or None, instance=obj, user=request.user)
    form.sections  # [{"title", "fields": [BoundField, ...], "columns", "collapsed"}]
    form.cleaned_data["custom"]  # clean custom values, ready for the service

Hidden fields (field security) are removed, read-only ones disabled; custom fields become
`custom__<key>` form fields and are validated by `validate_custom`.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from apps.org.fields import field_access

from .models import FieldType
from .registry import definitions_for, layout_for
from .validation import validate_custom

PREFIX = "custom__"


def form_field_for(d) -> forms.Field:
    """The Django form field for one custom-field definition."""
    common = {
        "label": d.label,
        "required": d.required and d.type != FieldType.BOOLEAN,
        "help_text": d.help_text,
    }
    t = d.type
    if t == FieldType.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if t == FieldType.INTEGER:
        return forms.IntegerField(**common)
    if t == FieldType.DECIMAL:
        return forms.DecimalField(decimal_places=d.decimal_places, **common)
    if t == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if t == FieldType.DATETIME:
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
            **common,
        )
    if t == FieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if t == FieldType.CHOICE:
        choices = [("", "---------")] + [(c["value"], c["label"]) for c in d.choices]
        return forms.ChoiceField(choices=choices, **common)
    if t == FieldType.MULTICHOICE:
        return forms.MultipleChoiceField(
            choices=[(c["value"], c["label"]) for c in d.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if t == FieldType.USER:
        return forms.ModelChoiceField(
            queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
            **common,
        )
    if t == FieldType.EMAIL:
        return forms.EmailField(**common)
    if t == FieldType.URL:
        return forms.URLField(assume_scheme="https", **common)
    return forms.CharField(max_length=1000, **common)


def _initial(d, value):
    if value is None:
        return None
    if d.type == FieldType.DATETIME:
        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(str(value))
        return timezone.localtime(parsed) if parsed else None
    return value


class CustomFieldsFormMixin:
    default_section_title = _("Details")
    custom_section_title = _("More")

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        model = self._meta.model
        instance = self.instance if getattr(self.instance, "pk", None) else None
        self.custom_definitions = definitions_for(model)
        custom = getattr(self.instance, "custom", None) or {}
        for d in self.custom_definitions:
            field = form_field_for(d)
            field.initial = _initial(d, custom.get(d.key, d.default if instance is None else None))
            self.fields[PREFIX + d.key] = field
        self.access = field_access(user, model, instance) if user is not None else None
        hidden_layout, self._layout_sections = layout_for(model)
        for name in list(self.fields):
            base = name[len(PREFIX) :] if name.startswith(PREFIX) else name
            if self.access is not None and not self.access.can_view(base):
                del self.fields[name]
            elif self.access is not None and not self.access.can_change(base):
                self.fields[name].disabled = True
                self.fields[name].required = False
            elif name in hidden_layout and not self.fields[name].required:
                del self.fields[name]
        for field in self.fields.values():
            css = (
                "form-check-input"
                if isinstance(field.widget, forms.CheckboxInput)
                else ("form-select" if isinstance(field.widget, forms.Select) else "form-control")
            )
            if not isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs.setdefault("class", css)

    @property
    def sections(self) -> list[dict]:
        """Bound fields grouped by the model's form layout (unplaced fields go last)."""
        placed: set[str] = set()
        out = []
        by_key = {d.key: d for d in self.custom_definitions}

        def name_of(entry: str) -> str | None:
            if entry in self.fields:
                return entry
            if entry in by_key and PREFIX + entry in self.fields:
                return PREFIX + entry
            return None

        for title, names, columns, collapsed in self._layout_sections:
            fields = []
            for entry in names:
                name = name_of(entry)
                if name and name not in placed:
                    fields.append(self[name])
                    placed.add(name)
            for d in self.custom_definitions:  # custom fields that name this section
                name = PREFIX + d.key
                if d.section == title and name in self.fields and name not in placed:
                    fields.append(self[name])
                    placed.add(name)
            if fields:
                out.append(
                    {"title": title, "fields": fields, "columns": columns, "collapsed": collapsed}
                )
        builtin = [self[n] for n in self.fields if not n.startswith(PREFIX) and n not in placed]
        if builtin:
            out.insert(
                0,
                {
                    "title": self.default_section_title,
                    "fields": builtin,
                    "columns": 2,
                    "collapsed": False,
                },
            )
        extra: dict[str, list] = {}
        for d in self.custom_definitions:
            name = PREFIX + d.key
            if name in self.fields and name not in placed:
                extra.setdefault(d.section or str(self.custom_section_title), []).append(self[name])
        for title, fields in extra.items():
            out.append({"title": title, "fields": fields, "columns": 2, "collapsed": False})
        return out

    def clean(self):
        cleaned = super().clean()
        raw = {}
        for d in self.custom_definitions:
            name = PREFIX + d.key
            if name not in self.fields or self.fields[name].disabled:
                continue
            value = cleaned.get(name)
            if d.type == FieldType.USER and value is not None:
                value = value.pk
            if d.type == FieldType.BOOLEAN:
                value = bool(value)
            raw[d.key] = value
        instance = self.instance if getattr(self.instance, "pk", None) else None
        clean, errors = validate_custom(self._meta.model, raw, instance=instance)
        for key, messages in errors.items():
            target = PREFIX + key if PREFIX + key in self.fields else None
            for message in messages:
                if target and target in self.errors:
                    continue
                self.add_error(target, message)
        cleaned["custom"] = clean
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if "custom" in getattr(self, "cleaned_data", {}):
            self.instance.custom = self.cleaned_data["custom"]
