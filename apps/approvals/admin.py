"""Admin: approval templates with their ordered steps (chains as data), a preview of who would
approve a sample request, and requests with their timeline, read-only."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from apps.org.models import Department

from .chain import preview
from .conditions import MATCHES, rules_to_text, text_to_condition
from .models import (
    ApprovalAction,
    ApprovalAttachment,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTemplate,
    ApproverType,
)


class StepForm(forms.ModelForm):
    """The condition as a small form: all/any plus one rule per line ("amount gte 100000")."""

    condition_match = forms.ChoiceField(
        label=_("Condition applies when"),
        required=False,
        choices=[("all", _("all rules hold")), ("any", _("any rule holds"))],
    )
    condition_rules = forms.CharField(
        label=_("Condition rules"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text=_(
            "One rule per line: field operator value. Fields: amount, department "
            "(name or id), data.<key> (e.g. data.days). Operators: eq ne gt gte lt "
            "lte in contains. Example: “amount gte 100000”. Empty: always."
        ),
    )

    class Meta:
        model = ApprovalStep
        fields = [
            "order",
            "name",
            "approver_type",
            "mode",
            "approver_users",
            "approver_role",
            "level",
            "subject_field",
            "cc_users",
            "cc_roles",
            "allow_return",
            "due_hours",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        condition = self.instance.condition or {}
        self.fields["condition_match"].initial = condition.get("match", "all")
        self.fields["condition_rules"].initial = rules_to_text(condition)

    def clean(self):
        cleaned = super().clean()
        match = cleaned.get("condition_match") or "all"
        if match not in MATCHES:
            match = "all"
        try:
            self.instance.condition = text_to_condition(
                cleaned.get("condition_rules", ""), match=match
            )
        except ValidationError as exc:
            self.add_error("condition_rules", exc)
        kind = cleaned.get("approver_type")
        if kind == ApproverType.USERS and not cleaned.get("approver_users"):
            self.add_error("approver_users", _("Choose at least one approver."))
        return cleaned


class StepInline(admin.StackedInline):
    model = ApprovalStep
    form = StepForm
    extra = 0
    ordering = ["order", "id"]
    autocomplete_fields = ["approver_users", "approver_role", "cc_users", "cc_roles"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("order", "name"),
                    ("approver_type", "mode"),
                    "approver_users",
                    "approver_role",
                    "level",
                    "subject_field",
                )
            },
        ),
        (_("Condition"), {"fields": ("condition_match", "condition_rules")}),
        (_("Copy and timing"), {"fields": ("cc_users", "cc_roles", "allow_return", "due_hours")}),
    )


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ApprovalTemplate
        fields = [
            "code",
            "name",
            "kind",
            "description",
            "active",
            "order",
            "start_roles",
            "start_departments",
            "extra_fields",
            "fallback_approver",
        ]
        widgets = {"extra_fields": forms.Textarea(attrs={"rows": 4, "cols": 80})}


@admin.register(ApprovalTemplate)
class ApprovalTemplateAdmin(SimpleHistoryAdmin):  # its History page lists field changes
    form = TemplateForm
    list_display = ["name", "code", "kind", "active", "step_count", "order"]
    list_filter = ["kind", "active"]
    list_editable = ["active", "order"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["start_roles", "start_departments", "fallback_approver"]
    readonly_fields = ["preview_link"]
    inlines = [StepInline]
    fieldsets = (
        (
            None,
            {"fields": ("code", "name", "kind", "description", "active", "order", "preview_link")},
        ),
        (_("Who may start it"), {"fields": ("start_roles", "start_departments")}),
        (_("Form and fallback"), {"fields": ("extra_fields", "fallback_approver")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_steps=Count("steps"))

    @admin.display(description=_("steps"), ordering="_steps")
    def step_count(self, obj) -> int:
        return obj._steps

    @admin.display(description=_("preview"))
    def preview_link(self, obj) -> str:
        if not obj.pk:
            return _("Save the template first.")
        url = reverse("admin:approvals_approvaltemplate_preview", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, _("Preview who approves a sample request")
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="approvals_approvaltemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        template = get_object_or_404(ApprovalTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        rows = None
        if form.is_valid():
            rows = preview(
                template,
                amount=form.cleaned_data["amount"] or Decimal(0),
                department=form.cleaned_data["department"],
                data=form.cleaned_data["data"],
                initiator=form.cleaned_data["initiator"],
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview: %(name)s") % {"name": template.name},
            "opts": self.model._meta,
            "original": template,
            "form": form,
            "rows": rows,
        }
        return render(request, "admin/approvals/preview.html", context)


class PreviewForm(forms.Form):
    amount = forms.CharField(label=_("Amount"), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.order_by("order", "name")
    )
    initiator = forms.ModelChoiceField(
        label=_("Initiator"),
        required=False,
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text=_("Needed for manager rules; gives the department when none is chosen."),
    )
    data = forms.CharField(
        label=_("Form data (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_('For example {"days": 5} or {"discount": 18}.'),
    )

    def clean_amount(self):
        raw = (self.cleaned_data.get("amount") or "").strip().replace(",", "")
        if not raw:
            return Decimal(0)
        try:
            return Decimal(raw)
        except InvalidOperation:
            raise ValidationError(_("Enter a number.")) from None

    def clean_data(self):
        raw = (self.cleaned_data.get("data") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValidationError(_("Enter a JSON object.")) from None
        if not isinstance(value, dict):
            raise ValidationError(_("Enter a JSON object."))
        return value


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ActionInline(ReadOnlyInline):
    model = ApprovalAction
    fields = ["created_at", "round", "step_name", "kind", "actor", "target", "comment"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class AttachmentInline(ReadOnlyInline):
    model = ApprovalAttachment
    fields = ["name", "line", "size", "uploaded_by", "created_at"]
    readonly_fields = fields


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    """Requests and their history are records: they change only through the services."""

    list_display = [
        "title",
        "template",
        "initiator",
        "department",
        "amount",
        "status",
        "round",
        "created_at",
    ]
    list_filter = ["status", "template", "department"]
    search_fields = ["title", "initiator__username", "initiator__display_name"]
    list_select_related = ["template", "initiator", "department"]
    date_hierarchy = "created_at"
    inlines = [AttachmentInline, ActionInline]
    readonly_fields = ["page_link"]
    fields = [
        "page_link",
        "template",
        "title",
        "amount",
        "status",
        "initiator",
        "department",
        "round",
        "current_step",
        "subject_type",
        "subject_id",
        "data",
        "custom",
        "chain",
        "created_at",
        "submitted_at",
        "decided_at",
    ]

    @admin.display(description=_("page"))
    def page_link(self, obj) -> str:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("Open the request"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
