"""Finance exports (.xlsx) of contracts, payments and invoices.

Written with openpyxl directly rather than django-import-export: finance needs money as real
numbers shown with two decimals (number format '0.00') and dates as dates, which tablib's
generic writer does not keep. The rules are the same as every other Weft export
(`apps.studio.resources.WeftResource`): columns the user may not see (field security, incl.
custom fields) are left out, and text a spreadsheet would run as a formula is neutralised with
`apps.studio.resources.neutralise`. Rows come from the list's own filtered, scoped queryset.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from apps.org.fields import field_access
from apps.studio.registry import definitions_for
from apps.studio.resources import neutralise
from apps.studio.validation import display_value

from .models import Contract, Invoice, Payment

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    name: str  # the field-security name it depends on ("" = always shown)
    label: Callable[[], str]
    value: Callable[[models.Model], object]
    kind: str = "text"  # text | money | date | number
    needs: tuple[str, ...] = ()  # further fields that must be visible (derived columns)


def _label(model, name):
    return lambda: str(model._meta.get_field(name).verbose_name)


def _user(u) -> str:
    return (u.display_name or u.username) if u is not None else ""


def _display(obj, name) -> str:
    return str(getattr(obj, f"get_{name}_display")())


CONTRACT_COLUMNS = [
    Column("number", _label(Contract, "number"), lambda c: c.number),
    Column("title", _label(Contract, "title"), lambda c: c.title),
    Column("customer", _label(Contract, "customer"), lambda c: c.customer.name),
    Column("status", _label(Contract, "status"), lambda c: _display(c, "status")),
    Column(
        "delivery_status",
        _label(Contract, "delivery_status"),
        lambda c: _display(c, "delivery_status"),
    ),
    Column("amount", _label(Contract, "amount"), lambda c: c.amount, "money"),
    Column(
        "received_amount", _label(Contract, "received_amount"), lambda c: c.received_amount, "money"
    ),
    Column(
        "receivable_amount",
        lambda: _("receivable"),
        lambda c: c.amount - c.received_amount,
        "money",
        needs=("amount", "received_amount"),
    ),
    Column(
        "invoiced_amount", _label(Contract, "invoiced_amount"), lambda c: c.invoiced_amount, "money"
    ),
    Column("signed_date", _label(Contract, "signed_date"), lambda c: c.signed_date, "date"),
    Column("start_date", _label(Contract, "start_date"), lambda c: c.start_date, "date"),
    Column("end_date", _label(Contract, "end_date"), lambda c: c.end_date, "date"),
    Column("owner", _label(Contract, "owner"), lambda c: _user(c.owner)),
    Column("created_at", _label(Contract, "created_at"), lambda c: c.created_at, "date"),
]

PAYMENT_COLUMNS = [
    # both read the contract: gone with it when field security hides it
    Column("contract", lambda: _("contract"), lambda p: p.contract.number),
    Column("contract", lambda: _("customer"), lambda p: p.contract.customer.name),
    Column("amount", _label(Payment, "amount"), lambda p: p.amount, "money"),
    Column("received_at", _label(Payment, "received_at"), lambda p: p.received_at, "date"),
    Column("method", _label(Payment, "method"), lambda p: _display(p, "method")),
    Column("reference", _label(Payment, "reference"), lambda p: p.reference),
    Column("plan", _label(Payment, "plan"), lambda p: p.plan.seq if p.plan else None, "number"),
    Column("note", _label(Payment, "note"), lambda p: p.note),
    Column("recorded_by", _label(Payment, "recorded_by"), lambda p: _user(p.recorded_by)),
]

INVOICE_COLUMNS = [
    # both read the contract: gone with it when field security hides it
    Column("contract", lambda: _("contract"), lambda i: i.contract.number),
    Column("contract", lambda: _("customer"), lambda i: i.contract.customer.name),
    Column("kind", _label(Invoice, "kind"), lambda i: _display(i, "kind")),
    Column("title", _label(Invoice, "title"), lambda i: i.title),
    Column("tax_number", _label(Invoice, "tax_number"), lambda i: i.tax_number),
    Column("amount", _label(Invoice, "amount"), lambda i: i.amount, "money"),
    Column("status", _label(Invoice, "status"), lambda i: _display(i, "status")),
    Column("invoice_number", _label(Invoice, "invoice_number"), lambda i: i.invoice_number),
    Column("issued_date", _label(Invoice, "issued_date"), lambda i: i.issued_date, "date"),
    Column("address_phone", _label(Invoice, "address_phone"), lambda i: i.address_phone),
    Column("bank_account", _label(Invoice, "bank_account"), lambda i: i.bank_account),
    Column("requested_by", _label(Invoice, "requested_by"), lambda i: _user(i.requested_by)),
    Column("created_at", _label(Invoice, "created_at"), lambda i: i.created_at, "date"),
    Column("note", _label(Invoice, "note"), lambda i: i.note),
]


def columns_for(user, model, columns: list[Column]) -> list[Column]:
    """The columns `user` may see: field security of `model`, plus its custom fields."""
    access = field_access(user, model)
    out = [
        c
        for c in columns
        if (not c.name or access.can_view(c.name)) and all(access.can_view(n) for n in c.needs)
    ]
    if hasattr(model, "custom"):
        for d in definitions_for(model):
            if access.can_view(d.key):
                out.append(
                    Column(
                        d.key,
                        (lambda d=d: d.label),
                        (lambda obj, d=d: display_value(d, (obj.custom or {}).get(d.key))),
                    )
                )
    return out


def _cell(ws, column: Column, value):
    if value is None or value == "":
        return WriteOnlyCell(ws, value=None)
    if column.kind == "money":
        cell = WriteOnlyCell(ws, value=Decimal(value).quantize(Decimal("0.01")))
        cell.number_format = MONEY_FORMAT
        return cell
    if column.kind == "date":
        if isinstance(value, dt.datetime):
            value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if column.kind == "number":
        return WriteOnlyCell(ws, value=value)
    return WriteOnlyCell(ws, value=neutralise(str(value)))


def workbook_bytes(user, model, columns: list[Column], rows: Iterable, sheet: str) -> bytes:
    cols = columns_for(user, model, columns)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31])
    ws.append([WriteOnlyCell(ws, value=neutralise(str(c.label()))) for c in cols])
    for obj in rows:
        ws.append([_cell(ws, c, c.value(obj)) for c in cols])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_response(content: bytes, basename: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.xlsx"'
    return response


def export_contracts(user, queryset) -> HttpResponse:
    rows = queryset.select_related("customer", "owner").iterator(chunk_size=2000)
    return xlsx_response(
        workbook_bytes(user, Contract, CONTRACT_COLUMNS, rows, str(_("Contracts"))), "contracts"
    )


def export_payments(user, queryset) -> HttpResponse:
    rows = queryset.select_related("contract", "contract__customer", "plan", "recorded_by")
    return xlsx_response(
        workbook_bytes(
            user, Payment, PAYMENT_COLUMNS, rows.iterator(chunk_size=2000), str(_("Payments"))
        ),
        "payments",
    )


def export_invoices(user, queryset) -> HttpResponse:
    rows = queryset.select_related("contract", "contract__customer", "requested_by")
    return xlsx_response(
        workbook_bytes(
            user, Invoice, INVOICE_COLUMNS, rows.iterator(chunk_size=2000), str(_("Invoices"))
        ),
        "invoices",
    )
