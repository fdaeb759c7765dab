"""Admin: custom fields and per-model form layouts."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils.translation import gettext_lazy as _

from apps.org.fields import securable_fields

from .models import FieldDefinition, FormLayout, FormSection, normalise_choices
from .registry import registered_models


def _registered_cts():
    return ContentType.objects.filter(
        pk__in=[ContentType.objects.get_for_model(m).pk for m in registered_models()]
    ).order_by("app_label", "model")


class FieldDefinitionForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One per line: value|label (or just value)."),
    )

    class Meta:
        model = FieldDefinition
        fields = [
            "content_type",
            "key",
            "label",
            "type",
            "help_text",
            "required",
            "unique",
            "min_value",
            "max_value",
            "decimal_places",
            "regex",
            "regex_message",
            "default",
            "section",
            "order",
            "show_in_list",
            "active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content_type"].queryset = _registered_cts()
        if self.instance.pk:
            self.fields["choices_text"].initial = "\n".join(
                f"{c['value']}|{c['label']}" for c in self.instance.choices or []
            )
            self.fields["key"].disabled = True
            self.fields["content_type"].disabled = True

    def clean(self):
        cleaned = super().clean()
        try:
            self.instance.choices = normalise_choices(cleaned.get("choices_text") or [])
        except ValidationError as exc:
            self.add_error("choices_text", exc)
        return cleaned

    def _update_errors(self, errors):
        # Model.clean() reports choice problems on "choices", which this form shows as text.
        if hasattr(errors, "error_dict") and "choices" in errors.error_dict:
            errors.error_dict["choices_text"] = errors.error_dict.pop("choices")
        super()._update_errors(errors)


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(admin.ModelAdmin):
    form = FieldDefinitionForm
    list_display = [
        "label",
        "key",
        "content_type",
        "type",
        "required",
        "unique",
        "section",
        "order",
        "active",
    ]
    list_filter = ["content_type", "type", "active", "required", "unique"]
    list_editable = ["order", "active"]
    search_fields = ["key", "label"]
    list_select_related = ["content_type"]
    fieldsets = (
        (None, {"fields": ("content_type", "key", "label", "type", "help_text")}),
        (
            _("Rules"),
            {
                "fields": (
                    "required",
                    "unique",
                    "min_value",
                    "max_value",
                    "decimal_places",
                    "regex",
                    "regex_message",
                    "default",
                    "choices_text",
                )
            },
        ),
        (_("Layout"), {"fields": ("section", "order", "show_in_list", "active")}),
    )


class FormSectionForm(forms.ModelForm):
    fields_text = forms.CharField(
        label=_("Fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One field name or custom key per line, in order."),
    )

    class Meta:
        model = FormSection
        fields = ["title", "order", "columns", "collapsed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["fields_text"].initial = "\n".join(self.instance.fields or [])

    def clean_fields_text(self):
        return [
            line.strip() for line in self.cleaned_data["fields_text"].splitlines() if line.strip()
        ]

    def save(self, commit=True):
        self.instance.fields = self.cleaned_data.get("fields_text", [])
        return super().save(commit)


class FormSectionInline(admin.StackedInline):
    model = FormSection
    form = FormSectionForm
    extra = 1


class FormLayoutForm(forms.ModelForm):
    hidden_text = forms.CharField(
        label=_("Hidden optional fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional built-in fields not shown on forms, one per line."),
    )

    class Meta:
        model = FormLayout
        fields = ["content_type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content_type"].queryset = _registered_cts()
        if self.instance.pk:
            self.fields["hidden_text"].initial = "\n".join(self.instance.hidden_fields or [])

    def clean(self):
        cleaned = super().clean()
        ct = cleaned.get("content_type")
        names = [n.strip() for n in (cleaned.get("hidden_text") or "").splitlines() if n.strip()]
        if ct and names:
            model = ct.model_class()
            known = {n for n, _l in securable_fields(model)}
            unknown = [n for n in names if n not in known]
            if unknown:
                self.add_error(
                    "hidden_text", _("Unknown fields: %(names)s") % {"names": ", ".join(unknown)}
                )
            for n in names:
                try:
                    f = model._meta.get_field(n)
                except FieldDoesNotExist:  # a custom key: custom fields are never "required"
                    continue
                if not (f.blank or f.null or f.has_default()):
                    self.add_error(
                        "hidden_text", _("%(name)s is required and cannot be hidden.") % {"name": n}
                    )
        self.instance.hidden_fields = names
        return cleaned


@admin.register(FormLayout)
class FormLayoutAdmin(admin.ModelAdmin):
    form = FormLayoutForm
    inlines = [FormSectionInline]
    list_display = ["content_type", "section_titles"]
    list_select_related = ["content_type"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sections")

    @admin.display(description=_("sections"))
    def section_titles(self, obj) -> str:
        return json.dumps([s.title for s in obj.sections.all()], ensure_ascii=False)
