"""Admin of the sales app, contracts part.

Contracts are read here with their instalments, payments, invoices and history. Money columns
(`received_amount`, `invoiced_amount`) and statuses are read-only: they move only through the
services (pages, API), which keep the totals under a row lock and write history. Payments and
invoices are listed read-only for the same reason; an admin edits a contract's paper details
through `contract_update`.
"""

from __future__ import annotations

from django.contrib import admin, messages

from apps.org.errors import ServiceError

from ..models import Contract, ContractEvent, Invoice, Payment, PaymentPlan
from ..services import contracts as services

EDITABLE = ["title", "signed_date", "start_date", "end_date", "terms"]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlanInline(_ReadOnlyInline):
    model = PaymentPlan
    fields = ["seq", "due_date", "amount", "note", "reminded_before_at", "reminded_after_at"]
    readonly_fields = fields


class PaymentInline(_ReadOnlyInline):
    model = Payment
    fields = ["amount", "received_at", "method", "reference", "recorded_by"]
    readonly_fields = fields


class InvoiceInline(_ReadOnlyInline):
    model = Invoice
    fields = ["kind", "title", "amount", "status", "invoice_number", "issued_date"]
    readonly_fields = fields


class EventInline(_ReadOnlyInline):
    model = ContractEvent
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    ordering = ["-at"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "title",
        "customer",
        "status",
        "delivery_status",
        "amount",
        "received_amount",
        "owner",
        "created_at",
    ]
    list_filter = ["status", "delivery_status"]
    search_fields = ["number", "title", "customer__name"]
    list_select_related = ["customer", "owner"]
    raw_id_fields = ["customer", "opportunity", "quote", "owner"]
    date_hierarchy = "created_at"
    inlines = [PlanInline, PaymentInline, InvoiceInline, EventInline]
    fields = [
        "number",
        "customer",
        "opportunity",
        "title",
        "amount",
        "status",
        "delivery_status",
        "received_amount",
        "invoiced_amount",
        "signed_date",
        "start_date",
        "end_date",
        "terms",
        "owner",
        "department",
        "approval",
        "custom",
    ]

    def has_add_permission(self, request):
        # New contracts are numbered and started by `contract_create` (pages, API).
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f for f in self.fields if f not in EDITABLE]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        try:
            services.contract_update(contract=obj, by=request.user, data=data)
        except ServiceError as exc:
            # The service refused (e.g. dates out of order): nothing was saved; say why.
            messages.error(request, exc.message)

    def has_delete_permission(self, request, obj=None):
        return False


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(_ReadOnlyAdmin):
    list_display = ["contract", "amount", "received_at", "method", "reference", "recorded_by"]
    list_filter = ["method", "received_at"]
    search_fields = ["contract__number", "reference"]
    list_select_related = ["contract", "recorded_by"]


@admin.register(Invoice)
class InvoiceAdmin(_ReadOnlyAdmin):
    list_display = [
        "contract",
        "kind",
        "title",
        "amount",
        "status",
        "invoice_number",
        "issued_date",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["contract__number", "title", "invoice_number", "tax_number"]
    list_select_related = ["contract"]


@admin.register(PaymentPlan)
class PaymentPlanAdmin(_ReadOnlyAdmin):
    list_display = [
        "contract",
        "seq",
        "due_date",
        "amount",
        "reminded_before_at",
        "reminded_after_at",
    ]
    list_filter = ["due_date"]
    search_fields = ["contract__number"]
    list_select_related = ["contract"]
