"""Admin of the reports app: sales targets (set by admins; managers use the targets page),
saved reports, dashboards and the history rows (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.org.errors import ServiceError

from . import services
from .builder.query import parse_definition
from .models import Dashboard, DashboardItem, ReportEvent, SalesTarget, SavedReport


class SalesTargetForm(forms.ModelForm):
    class Meta:
        model = SalesTarget
        fields = ["user", "department", "month", "amount", "note"]

    def clean_month(self):
        month = self.cleaned_data["month"]
        return month.replace(day=1) if month else month


@admin.register(SalesTarget)
class SalesTargetAdmin(admin.ModelAdmin):
    form = SalesTargetForm
    list_display = ["month", "user", "department", "amount", "updated_by", "updated_at"]
    list_filter = ["month", "department"]
    search_fields = ["user__username", "user__display_name", "department__name", "note"]
    autocomplete_fields = ["user"]
    date_hierarchy = "month"

    def save_model(self, request, obj, form, change):
        # Through the service: same permission rule and history row as the managers' page.
        data = form.cleaned_data
        with transaction.atomic():
            if change and obj.pk:
                original = SalesTarget.objects.get(pk=obj.pk)
                key = (original.user_id, original.department_id, original.month)
                if key != (obj.user_id, obj.department_id, obj.month):
                    services.target_delete(target=original, by=request.user)
            try:
                saved = services.target_set(
                    by=request.user,
                    user=data.get("user"),
                    department=data.get("department"),
                    month=data["month"],
                    amount=data["amount"],
                    note=data.get("note") or "",
                )
            except ServiceError as exc:
                raise ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.target_delete(target=obj, by=request.user)


class SavedReportForm(forms.ModelForm):
    class Meta:
        model = SavedReport
        fields = [
            "name",
            "description",
            "source",
            "definition",
            "chart",
            "owner",
            "shared_users",
            "shared_roles",
        ]

    def clean(self):
        data = super().clean()
        owner = data.get("owner")
        if owner and data.get("source") is not None:
            try:
                query = parse_definition(data["source"], data.get("definition") or {}, owner)
            except ServiceError as exc:
                raise ValidationError(
                    [f"{k}: {m}" for k, msgs in exc.errors.items() for m in msgs]
                ) from exc
            data["definition"] = query.definition()
        return data


@admin.register(SavedReport)
class SavedReportAdmin(admin.ModelAdmin):
    form = SavedReportForm
    list_display = ["name", "source", "chart", "owner", "updated_at"]
    list_filter = ["source", "chart"]
    search_fields = ["name", "description", "owner__username"]
    filter_horizontal = ["shared_users", "shared_roles"]
    autocomplete_fields = ["owner"]


class DashboardItemInline(admin.TabularInline):
    model = DashboardItem
    extra = 0
    fields = ["position", "width", "builtin", "saved_report", "title"]


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_home", "updated_at"]
    list_filter = ["is_home"]
    search_fields = ["name", "owner__username"]
    filter_horizontal = ["shared_users", "shared_roles"]
    autocomplete_fields = ["owner"]
    inlines = [DashboardItemInline]


@admin.register(ReportEvent)
class ReportEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "actor", "report", "dashboard"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "actor", "report", "dashboard", "payload", "at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
