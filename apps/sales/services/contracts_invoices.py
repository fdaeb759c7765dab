"""Invoice requests (开票): request → (approval) → issue or reject.

requested ──issue──► issued                 (no active `invoice` approval template)
pending ─approved─► approved ─issue─► issued  (with the template: finance approves first)
any open ──reject──► rejected                (the approval's rejection, or finance)

`Contract.invoiced_amount` counts every invoice that is not rejected — requested, waiting,
approved and issued — so two requests made at once can never together pass the contract
amount (row lock on the contract, check constraint `sales_contract_no_overinvoicing` as the
last guard). A rejection gives the amount back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalTemplate
from apps.org.errors import ConflictError, ServiceError
from apps.org.history import record_history
from apps.studio.automation import record_changed

from ..models import Contract, ContractEvent, Invoice
from .contracts_common import MONEY_STATUSES, finance_users, lock_contract, money, record, require

I = Invoice.Status  # noqa: E741 - mirrors S for contracts
K = ContractEvent.Kind
INVOICE_TEMPLATE = "invoice"
OPEN = (I.REQUESTED, I.PENDING, I.APPROVED)
# 统一社会信用代码 (18) or an older taxpayer number (15–20 letters and digits).
TAX_NUMBER = re.compile(r"^[0-9A-Z]{15,20}$")


def _clean_request(contract: Contract, data: Mapping) -> dict:
    kind = data.get("kind") or Invoice.Kind.VAT_ORDINARY
    if kind not in Invoice.Kind.values:
        raise ServiceError(_("Choose the invoice type."), field="kind")
    title = (data.get("title") or contract.customer.name or "").strip()
    if not title:
        raise ServiceError(_("Give the invoice title (抬头)."), field="title")
    tax_number = (data.get("tax_number") or "").strip().upper()
    if tax_number and not TAX_NUMBER.match(tax_number):
        raise ServiceError(
            _("A taxpayer number has 15 to 20 letters and digits."), field="tax_number"
        )
    if kind == Invoice.Kind.VAT_SPECIAL:
        errors = {}
        if not tax_number:
            errors["tax_number"] = [_("A VAT special invoice needs the taxpayer number.")]
        if not (data.get("address_phone") or "").strip():
            errors["address_phone"] = [_("A VAT special invoice needs address and phone.")]
        if not (data.get("bank_account") or "").strip():
            errors["bank_account"] = [_("A VAT special invoice needs bank and account.")]
        if errors:
            raise ServiceError(_("Check the form."), errors=errors)
    return {
        "kind": kind,
        "title": title[:200],
        "tax_number": tax_number,
        "address_phone": (data.get("address_phone") or "").strip()[:300],
        "bank_account": (data.get("bank_account") or "").strip()[:300],
        "note": (data.get("note") or "").strip()[:300],
    }


def _invoice_template():
    return ApprovalTemplate.objects.filter(code=INVOICE_TEMPLATE, active=True).first()


@transaction.atomic
def invoice_request(*, contract: Contract, by, data: Mapping) -> Invoice:
    """Ask finance for an invoice; refused above what is still invoiceable."""
    require(by, "sales.add_invoice")
    amount = money(data.get("amount"))
    contract = lock_contract(contract)
    require(by, "sales.view_contract", contract)
    if contract.status not in MONEY_STATUSES:
        raise ConflictError(
            _("Invoices are requested on approved contracts; this one is %(status)s.")
            % {"status": contract.get_status_display().lower()}
        )
    clean = _clean_request(contract, data)
    invoiceable = contract.amount - contract.invoiced_amount
    if amount > invoiceable:
        raise ServiceError(
            _(
                "Over-invoicing: %(amount)s is more than the %(left)s still invoiceable "
                "on %(number)s."
            )
            % {"amount": amount, "left": invoiceable, "number": contract.number},
            field="amount",
            code="overinvoicing",
        )
    try:
        with transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(
                invoiced_amount=contract.invoiced_amount + amount, updated_at=timezone.now()
            )
            record_history(Contract, [contract.pk])
    except IntegrityError:
        raise ServiceError(
            _("Over-invoicing: the contract amount would be exceeded."),
            field="amount",
            code="overinvoicing",
        ) from None
    invoice = Invoice.objects.create(
        contract=contract, amount=amount, requested_by=by, status=I.REQUESTED, **clean
    )
    record(contract, K.INVOICE_REQUESTED, by, invoice=invoice.pk, amount=amount, kind=clean["kind"])
    template = _invoice_template()
    if template is not None:
        invoice.status = I.PENDING
        invoice.save(update_fields=["status", "updated_at"])
        try:
            request = approvals.approval_start(
                template=template,
                by=by,
                title=_("Invoice %(amount)s · %(number)s")
                % {"amount": amount, "number": contract.number},
                amount=amount,
                subject=invoice,
            )
        except PermissionDenied:
            raise ServiceError(_("You may not start invoice approvals.")) from None
        invoice.refresh_from_db()
        invoice.approval = request
        invoice.save(update_fields=["approval", "updated_at"])
    else:
        notify.send(
            finance_users(),
            "sales.invoice_requested",
            contract,
            message=_("Invoice of %(amount)s requested on contract %(number)s.")
            % {"amount": amount, "number": contract.number},
            url=_invoice_url(invoice),
            actor=by,
        )
    record_changed(invoice, created=True, by=by)
    return invoice


def _invoice_url(invoice: Invoice) -> str:
    from django.urls import reverse

    return reverse("sales:invoice-detail", args=[invoice.pk])


def _lock_invoice(invoice: Invoice) -> tuple[Invoice, Contract]:
    # Contract first, then invoice: the same order as invoice_request, so no deadlock.
    contract = lock_contract(invoice.contract_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    return invoice, contract


def _release(invoice: Invoice, contract: Contract) -> None:
    Contract.objects.filter(pk=contract.pk).update(
        invoiced_amount=contract.invoiced_amount - invoice.amount, updated_at=timezone.now()
    )
    record_history(Contract, [contract.pk])


@transaction.atomic
def invoice_issue(*, invoice: Invoice, by, invoice_number: str, issued_date=None) -> Invoice:
    """Finance issued the invoice (`sales.issue_invoice`): number and date are recorded."""
    require(by, "sales.issue_invoice")
    invoice, contract = _lock_invoice(invoice)
    require(by, "sales.view_invoice", invoice)
    if invoice.status not in (I.REQUESTED, I.APPROVED):
        raise ConflictError(
            _("An invoice that is %(status)s cannot be issued.")
            % {"status": invoice.get_status_display().lower()}
        )
    old_status = invoice.status
    number = (invoice_number or "").strip()
    if not number or len(number) > 50:
        raise ServiceError(_("Give the invoice number."), field="invoice_number")
    if Invoice.objects.filter(status=I.ISSUED, invoice_number=number).exists():
        raise ServiceError(_("An issued invoice already has this number."), field="invoice_number")
    issued_date = issued_date or timezone.localdate()
    if not isinstance(issued_date, dt.date) or issued_date > timezone.localdate():
        raise ServiceError(_("The issue date cannot be in the future."), field="issued_date")
    invoice.status = I.ISSUED
    invoice.invoice_number = number
    invoice.issued_date = issued_date
    invoice.issued_by = by
    invoice.save(
        update_fields=["status", "invoice_number", "issued_date", "issued_by", "updated_at"]
    )
    record(contract, K.INVOICE_ISSUED, by, invoice=invoice.pk, number=number, amount=invoice.amount)
    record_changed(invoice, changes={"status": [old_status, I.ISSUED]}, by=by)
    notify.send(
        [invoice.requested_by, contract.owner],
        "sales.invoice_issued",
        contract,
        message=_("Invoice %(no)s of %(amount)s issued for contract %(number)s.")
        % {"no": number, "amount": invoice.amount, "number": contract.number},
        url=_invoice_url(invoice),
        actor=by,
    )
    return invoice


@transaction.atomic
def invoice_reject(*, invoice: Invoice, by, reason: str) -> Invoice:
    """Finance refuses an open request; its amount becomes invoiceable again."""
    require(by, "sales.issue_invoice")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the invoice is rejected."), field="reason")
    invoice, contract = _lock_invoice(invoice)
    require(by, "sales.view_invoice", invoice)
    if invoice.status not in (I.REQUESTED, I.APPROVED):
        raise ConflictError(
            _("An invoice that is %(status)s cannot be rejected.")
            % {"status": invoice.get_status_display().lower()}
        )
    _reject(invoice, contract, by, reason[:300])
    return invoice


def _reject(invoice: Invoice, contract: Contract, by, reason: str) -> None:
    _release(invoice, contract)
    old_status = invoice.status
    invoice.status = I.REJECTED
    invoice.reject_reason = reason
    invoice.save(update_fields=["status", "reject_reason", "updated_at"])
    record_changed(invoice, changes={"status": [old_status, I.REJECTED]}, by=by)
    record(
        contract, K.INVOICE_REJECTED, by, invoice=invoice.pk, amount=invoice.amount, reason=reason
    )
    notify.send(
        [invoice.requested_by, contract.owner],
        "sales.invoice_rejected",
        contract,
        message=_("Invoice request of %(amount)s on contract %(number)s was rejected.")
        % {"amount": invoice.amount, "number": contract.number},
        url=_invoice_url(invoice),
        actor=by,
    )


def invoice_approval_outcome(request, outcome: str) -> None:
    """Approval hook of the `invoice` template: approved → to be issued; rejected, returned or
    withdrawn → rejected (the amount is released; the requester asks again if need be)."""
    invoice = Invoice.objects.filter(pk=request.subject_id).first()
    if invoice is None:
        return
    invoice, contract = _lock_invoice(invoice)
    if invoice.status != I.PENDING:
        return
    if outcome == "approved":
        invoice.status = I.APPROVED
        invoice.approval = request
        invoice.save(update_fields=["status", "approval", "updated_at"])
        record_changed(invoice, changes={"status": [I.PENDING, I.APPROVED]}, by=None)
        notify.send(
            finance_users(),
            "sales.invoice_approved",
            contract,
            message=_("Invoice of %(amount)s on contract %(number)s approved; please issue it.")
            % {"amount": invoice.amount, "number": contract.number},
            url=_invoice_url(invoice),
        )
    elif outcome in ("rejected", "returned", "withdrawn"):
        invoice.approval = request
        _reject(invoice, contract, None, _("Approval %(outcome)s.") % {"outcome": outcome})
