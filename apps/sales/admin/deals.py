"""Admin of the sales app, deals part: pipelines with their stages, product categories and
products (the settings an admin edits), and opportunities and quotes with their history.

Stage moves, owners, statuses and quote totals belong to the services (pages, API): the admin
shows them read-only so no rule (history rows, probability following the stage, discount
approval) is bypassed here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.customers.admin import _UserFormAdmin
from apps.studio.forms import CustomFieldsFormMixin

from ..models import (
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    Stage,
    StageChange,
)


class StageInline(admin.TabularInline):
    model = Stage
    fields = ["order", "name", "probability", "is_won", "is_lost", "stalled_days"]
    extra = 0
    ordering = ["order", "id"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "is_default", "is_active"]
    list_editable = ["order", "is_active"]
    inlines = [StageInline]


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]


class ProductAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "category", "unit", "price", "cost", "description", "is_active"]


@admin.register(Product)
class ProductAdmin(_UserFormAdmin):
    form = ProductAdminForm
    list_display = ["sku", "name", "category", "unit", "price", "is_active"]
    list_select_related = ["category"]
    list_filter = ["is_active", "category"]
    search_fields = ["sku", "name"]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


class StageChangeInline(_ReadOnlyInline):
    model = StageChange
    fields = ["at", "from_stage", "to_stage", "actor", "reason"]
    readonly_fields = fields
    ordering = ["-at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_stage", "to_stage", "actor")


class OpportunityEventInline(_ReadOnlyInline):
    model = OpportunityEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    ordering = ["-at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class OpportunityAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["name", "amount", "expected_close_date", "description"]


@admin.register(Opportunity)
class OpportunityAdmin(_UserFormAdmin):
    form = OpportunityAdminForm
    list_display = [
        "name",
        "customer",
        "pipeline",
        "stage",
        "amount",
        "probability",
        "status",
        "owner",
        "expected_close_date",
        "updated_at",
    ]
    list_select_related = ["customer", "pipeline", "stage", "owner"]
    list_filter = ["status", "pipeline", "stage"]
    search_fields = ["name", "customer__name"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "customer",
        "pipeline",
        "stage",
        "probability",
        "status",
        "lost_reason",
        "owner",
        "department",
        "created_by",
        "created_at",
        "updated_at",
        "stage_changed_at",
        "last_activity_at",
        "closed_at",
        "stalled_warned_at",
    ]
    inlines = [StageChangeInline, OpportunityEventInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # deals start on the pages or the API (stage history, owner rules)

    def save_model(self, request, obj, form, change):
        from ..services.deals import opportunity_update

        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.fields}
        if "custom" in form.cleaned_data:
            data["custom"] = form.cleaned_data["custom"]
        opportunity_update(opportunity=obj, by=request.user, data=data)


class QuoteLineInline(_ReadOnlyInline):
    model = QuoteLine
    fields = ["order", "product", "description", "quantity", "unit_price", "discount", "amount"]
    readonly_fields = fields


class QuoteEventInline(_ReadOnlyInline):
    model = QuoteEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    ordering = ["-at"]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "customer", "total", "max_discount", "status", "owner"]
    list_select_related = ["customer", "owner"]
    list_filter = ["status"]
    search_fields = ["number", "title", "customer__name"]
    date_hierarchy = "created_at"
    inlines = [QuoteLineInline, QuoteEventInline]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Quote._meta.concrete_fields]

    def has_add_permission(self, request):
        return False  # quotes are numbered and totalled by the services

    def has_change_permission(self, request, obj=None):
        return False
