"""Excel export of opportunities, quotes and products (django-import-export through
`apps.studio.resources.WeftResource`: custom-field columns, columns hidden by field security
dropped, formula-looking cells neutralised).

    dataset = OpportunityResource(user=request.user).export(queryset=qs)
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from import_export import fields, widgets

from apps.studio.resources import WeftResource

from .models import Opportunity, Product, Quote

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(dataset, basename: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(dataset.export("xlsx"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.xlsx"'
    return response


class _Display(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class OpportunityResource(WeftResource):
    customer = fields.Field(attribute="customer__name", column_name="customer")
    pipeline = fields.Field(attribute="pipeline__name", column_name="pipeline")
    stage = fields.Field(attribute="stage__name", column_name="stage")
    owner = fields.Field(attribute="owner", column_name="owner", widget=_Display())
    status = fields.Field(attribute="get_status_display", column_name="status")
    weighted_amount = fields.Field(attribute="weighted_amount", column_name="weighted_amount")

    class Meta:
        model = Opportunity
        fields = (
            "id",
            "name",
            "customer",
            "amount",
            "pipeline",
            "stage",
            "probability",
            "weighted_amount",
            "expected_close_date",
            "status",
            "lost_reason",
            "owner",
            "created_at",
            "closed_at",
        )
        export_order = fields


class QuoteResource(WeftResource):
    customer = fields.Field(attribute="customer__name", column_name="customer")
    owner = fields.Field(attribute="owner", column_name="owner", widget=_Display())
    status = fields.Field(attribute="get_status_display", column_name="status")

    class Meta:
        model = Quote
        fields = (
            "id",
            "number",
            "title",
            "customer",
            "subtotal",
            "discount_amount",
            "total",
            "max_discount",
            "status",
            "valid_until",
            "owner",
            "created_at",
        )
        export_order = fields


class ProductResource(WeftResource):
    category = fields.Field(attribute="category__name", column_name="category")

    class Meta:
        model = Product
        fields = ("id", "sku", "name", "category", "unit", "price", "cost", "is_active")
        export_order = fields
