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


# --- automation rules (DESIGN §4.3) ---------------------------------------------------------
from django.contrib import messages  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils.html import format_html_join  # noqa: E402

from .automation import engine as automation_engine  # noqa: E402
from .automation import registry as automation_registry  # noqa: E402
from .models import AutomationEvent, AutomationRule, RuleAction, RuleCondition, RuleRun  # noqa: E402


def _automation_cts():
    return ContentType.objects.filter(
        pk__in=[
            ContentType.objects.get_for_model(s.model).pk
            for s in automation_registry.models_registered()
        ]
    ).order_by("app_label", "model")


class RuleForm(forms.ModelForm):
    class Meta:
        model = AutomationRule
        fields = [
            "name",
            "description",
            "content_type",
            "active",
            "order",
            "trigger",
            "trigger_field",
            "from_value",
            "to_value",
            "schedule_field",
            "schedule_offset_days",
            "match",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "content_type" in self.fields:
            self.fields["content_type"].queryset = _automation_cts()


class RuleConditionInline(admin.TabularInline):
    model = RuleCondition
    extra = 0
    fields = ["order", "field", "operator", "value"]


class RuleActionForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("action"), choices=())

    class Meta:
        model = RuleAction
        fields = ["order", "kind", "params"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = automation_registry.action_choices()


class RuleActionInline(admin.StackedInline):
    model = RuleAction
    form = RuleActionForm
    extra = 0
    fields = ["order", "kind", "params"]


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "content_type", "trigger", "active", "order", "updated_at"]
    list_filter = ["active", "trigger", "content_type"]
    search_fields = ["name", "description"]
    list_select_related = ["content_type"]
    inlines = [RuleConditionInline, RuleActionInline]
    readonly_fields = ["reference", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "description", "content_type", "active", "order"]}),
        (
            _("Trigger"),
            {
                "fields": [
                    "trigger",
                    "trigger_field",
                    "from_value",
                    "to_value",
                    "schedule_field",
                    "schedule_offset_days",
                ]
            },
        ),
        (_("Conditions"), {"fields": ["match"]}),
        (_("Reference"), {"fields": ["reference", "created_by", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("Fields and actions"))
    def reference(self, obj):
        """What an admin may write: the model's fields (for conditions and {placeholders})
        and each action's parameters."""
        spec = automation_registry.spec_for_ct(obj.content_type) if obj.content_type_id else None
        rows = []
        if spec is not None:
            rows.append((_("Fields"), ", ".join(n for n, _l in spec.field_choices())))
            rows.append((_("Placeholders"), "{%s.<field>}" % spec.name))  # noqa: UP031
        for a in automation_registry.actions():
            if spec is None or a.applies_to(spec):
                rows.append((f"{a.label} ({a.key})", str(a.help)))
        return format_html_join("", "<p><strong>{}</strong>: <code>{}</code></p>", rows)

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "rule", "record_label", "trigger", "status", "attempts", "depth"]
    list_filter = ["status", "trigger", "rule"]
    search_fields = ["record_label", "rule__name", "error", "idempotency_key"]
    list_select_related = ["rule"]
    date_hierarchy = "created_at"
    actions = ["rerun_failed"]
    readonly_fields = [
        "rule",
        "content_type",
        "object_id",
        "record_label",
        "event",
        "idempotency_key",
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Run the selected failed runs again"))
    def rerun_failed(self, request, queryset):
        failed = list(queryset.filter(status=RuleRun.Status.FAILED))
        with transaction.atomic():
            for run in failed:
                automation_engine.rerun(run)
        messages.success(request, _("%(n)d runs queued again.") % {"n": len(failed)})


@admin.register(AutomationEvent)
class AutomationEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "content_type", "object_id", "created", "depth", "status"]
    list_filter = ["status", "content_type"]
    list_select_related = ["content_type"]
    readonly_fields = [f.name for f in AutomationEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
