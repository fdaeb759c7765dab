"""Excel export of customers through the data layer's import/export resource.

The resource (`apps.customers.resources.CustomerResource`, a `WeftResource`) drops the columns
the user may not see and neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def customer_resource_class():
    from ..resources import CustomerResource

    return CustomerResource


def contact_resource_class():
    from ..resources import ContactResource

    return ContactResource


def xlsx_response(resource, queryset, name: str) -> HttpResponse:
    dataset = resource.export(queryset=queryset)
    response = HttpResponse(dataset.export("xlsx"), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.xlsx"'
    return response


def export_customers(user, queryset) -> HttpResponse:
    resource = customer_resource_class()(user=user)
    return xlsx_response(resource, queryset, "customers")
