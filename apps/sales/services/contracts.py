"""Contracts (orders): create, edit, approval, signing, execution, delivery status.

draft ─submit─► pending ─approved─► approved ─sign─► signed ─start─► executing ─complete─► completed
  ▲               │ rejected ─► rejected (edit, submit again)        │
  └── returned / withdrawn ◄──┘           terminate from approved, signed or executing ─► terminated

`contract_submit` starts the `contract` approval (apps.approvals); the outcome handler
`contract_approval_outcome` (registered in `apps.sales.wiring.contracts`) moves the status.
Delivery status (pending review → in production → shipped → delivered) is set by whoever holds
`sales.deliver_contract` (service in the demo). Payments and invoices: `contracts_payments`,
`contracts_invoices`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.approvals import services as approvals
from apps.org.errors import ConflictError, ServiceError
from apps.studio.automation import record_changed
from apps.studio.validation import validate_custom_or_raise

from ..models import Contract, ContractEvent
from .contracts_common import (
    MONEY_STATUSES,
    finance_users,
    lock_contract,
    money,
    plain,
    record,
    refuse_restricted,
    require,
)
from .contracts_numbering import next_contract_number

User = get_user_model()
S = Contract.Status
K = ContractEvent.Kind

# What a draft (or rejected) contract lets its owner change; once approved only the paper
# details may change (the amount and the customer are what was approved).
DRAFT_FIELDS = (
    "title",
    "customer",
    "opportunity",
    "quote",
    "amount",
    "signed_date",
    "start_date",
    "end_date",
    "terms",
    "owner",
)
LATER_FIELDS = ("title", "signed_date", "start_date", "end_date", "terms")
EDITABLE_LATER = (S.APPROVED, S.SIGNED, S.EXECUTING)
CONTRACT_TEMPLATE = "contract"


def _automation_changes(changes: dict) -> dict:
    # Custom fields go to automation as the list of keys that changed.
    out = dict(changes)
    if "custom" in out:
        old, new = out["custom"]
        old, new = old or {}, new or {}
        out["custom"] = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return out


def _check_dates(start, end) -> None:
    if start and end and end < start:
        raise ServiceError(_("The end date is before the start date."), field="end_date")


def _check_links(data: Mapping, by) -> None:
    customer = data.get("customer")
    if customer is not None:
        require(by, "customers.view_customer", customer)
    opp = data.get("opportunity")
    if opp is not None and customer is not None and opp.customer_id != customer.pk:
        raise ServiceError(_("The opportunity belongs to another customer."), field="opportunity")
    quote = data.get("quote")
    if quote is not None and customer is not None and quote.customer_id != customer.pk:
        raise ServiceError(_("The quote belongs to another customer."), field="quote")


@transaction.atomic
def contract_create(*, by, data: Mapping) -> Contract:
    """A new draft contract, numbered "HT-<year>-<seq>"; the owner defaults to `by`."""
    require(by, "sales.add_contract")
    refuse_restricted(by, Contract, [k for k in data if k in DRAFT_FIELDS or k == "custom"])
    if data.get("customer") is None:
        raise ServiceError(_("Choose the customer."), field="customer")
    _check_links(data, by)
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError(_("Give the contract a title."), field="title")
    owner = data.get("owner") or by
    if owner is None:
        raise ServiceError(_("Choose the owner."), field="owner")
    if not owner.is_active:
        raise ServiceError(_("The owner must be an active user."), field="owner")
    _check_dates(data.get("start_date"), data.get("end_date"))
    contract = Contract(
        title=title[:200],
        customer=data["customer"],
        opportunity=data.get("opportunity"),
        quote=data.get("quote"),
        amount=money(data.get("amount", "0"), positive=True),
        signed_date=data.get("signed_date"),
        start_date=data.get("start_date"),
        end_date=data.get("end_date"),
        terms=(data.get("terms") or "").strip(),
        owner=owner,
        department=owner.department,
        created_by=by,
        custom=validate_custom_or_raise(Contract, data.get("custom")),
    )
    for attempt in range(2):
        contract.number = next_contract_number()
        try:
            with transaction.atomic():
                contract.save()
            break
        except IntegrityError:
            # Another process took the number between our read and our insert (no advisory
            # lock on this database); read again once, then give up with a clear error.
            if attempt:
                raise ConflictError(_("Could not number the contract; try again.")) from None
    record(contract, K.CREATED, by, number=contract.number, amount=contract.amount)
    record_changed(contract, created=True, by=by)
    return contract


@transaction.atomic
def contract_update(*, contract: Contract, by, data: Mapping) -> Contract:
    """Change a contract: every field while draft or rejected, paper details afterwards."""
    contract = lock_contract(contract)
    require(by, "sales.change_contract", contract)
    names = [k for k in data if k in DRAFT_FIELDS or k == "custom"]
    refuse_restricted(by, Contract, names, contract)
    allowed = DRAFT_FIELDS if contract.status in (S.DRAFT, S.REJECTED) else LATER_FIELDS
    if contract.status not in (S.DRAFT, S.REJECTED, *EDITABLE_LATER):
        raise ConflictError(
            _("A %(status)s contract cannot be changed.")
            % {"status": contract.get_status_display().lower()}
        )
    locked = [
        n
        for n in names
        if n not in allowed and n != "custom" and plain(data[n]) != plain(getattr(contract, n))
    ]
    if locked:
        raise ServiceError(
            _("This can no longer change once the contract is approved."),
            errors={
                n: [_("This can no longer change once the contract is approved.")] for n in locked
            },
        )
    merged = {n: getattr(contract, n) for n in DRAFT_FIELDS}
    merged.update({k: v for k, v in data.items() if k in allowed})
    if "customer" in data or "opportunity" in data or "quote" in data:
        _check_links(merged, by)
    _check_dates(merged["start_date"], merged["end_date"])
    changes: dict[str, list] = {}
    for name in allowed:
        if name not in data:
            continue
        new = data[name]
        if name == "amount":
            new = money(new)
            if new < max(contract.received_amount, contract.invoiced_amount):
                raise ServiceError(
                    _("The amount cannot be below what was received or invoiced."),
                    field="amount",
                )
        if name in ("title", "terms"):
            new = (new or "").strip()
            if name == "title" and not new:
                raise ServiceError(_("Give the contract a title."), field="title")
        if name == "owner":
            if new is None or not new.is_active:
                raise ServiceError(_("The owner must be an active user."), field="owner")
        old = getattr(contract, name)
        if plain(old) != plain(new):
            changes[name] = [plain(old), plain(new)]
            setattr(contract, name, new)
    if "owner" in changes:
        contract.department = contract.owner.department
    if "custom" in data:
        custom = validate_custom_or_raise(Contract, data["custom"], instance=contract)
        if custom != contract.custom:
            changes["custom"] = [contract.custom, custom]
            contract.custom = custom
    if changes:
        contract.save()
        record(contract, K.UPDATED, by, changes=changes)
        record_changed(contract, changes=_automation_changes(changes), by=by)
    return contract


@transaction.atomic
def contract_delete(*, contract: Contract, by) -> None:
    """Only a draft or rejected contract without money on it may be deleted."""
    contract = lock_contract(contract)
    require(by, "sales.delete_contract", contract)
    if contract.status not in (S.DRAFT, S.REJECTED):
        raise ConflictError(_("Only a draft or rejected contract can be deleted."))
    if contract.payments.exists() or contract.invoices.exists():
        raise ConflictError(_("The contract has payments or invoices."))
    contract.delete()


# --- approval -----------------------------------------------------------------------------


@transaction.atomic
def contract_submit(*, contract: Contract, by) -> Contract:
    """Send a draft (or rejected) contract for approval (template `contract`)."""
    contract = lock_contract(contract)
    require(by, "sales.change_contract", contract)
    if contract.status not in (S.DRAFT, S.REJECTED):
        raise ConflictError(_("Only a draft or rejected contract can be submitted."))
    if contract.amount <= 0:
        raise ServiceError(_("Give the contract an amount before submitting it."), field="amount")
    old_status = contract.status
    contract.status = S.PENDING
    contract.save(update_fields=["status", "updated_at"])
    record(contract, K.SUBMITTED, by, amount=contract.amount)
    record_changed(contract, changes={"status": [old_status, S.PENDING]}, by=by)
    try:
        request = approvals.approval_start(
            template=CONTRACT_TEMPLATE,
            by=by,
            title=f"{contract.number} {contract.title}"[:200],
            amount=contract.amount,
            subject=contract,
        )
    except PermissionDenied:
        raise ServiceError(_("You may not start contract approvals.")) from None
    # A chain whose steps all skip approves at once: the outcome handler has already moved
    # the row, so re-read it before linking the request.
    contract.refresh_from_db()
    contract.approval = request
    contract.save(update_fields=["approval", "updated_at"])
    return contract


def _notify(recipients, event: str, contract: Contract, message: str, actor=None) -> None:
    notify.send(recipients, event, contract, message=message, actor=actor)


def contract_approval_outcome(request, outcome: str) -> None:
    """Approval hook: move the contract's status with its approval's outcome.

    Runs inside the decision's transaction; a contract no longer pending (edited by an admin
    meanwhile) is left alone rather than undoing the decision.
    """
    contract = Contract.objects.select_for_update().filter(pk=request.subject_id).first()
    if contract is None:
        return
    actor = None
    if outcome == "resubmitted":
        if contract.status in (S.DRAFT, S.REJECTED):
            old_status = contract.status
            contract.status = S.PENDING
            contract.approval = request
            contract.save(update_fields=["status", "approval", "updated_at"])
            record(contract, K.SUBMITTED, request.initiator, approval=request.pk)
            record_changed(
                contract, changes={"status": [old_status, S.PENDING]}, by=request.initiator
            )
        return
    if contract.status != S.PENDING:
        return
    if contract.approval_id not in (None, request.pk):
        return  # an older request of this contract; the current one decides
    if outcome == "approved":
        contract.status = S.APPROVED
        kind = K.APPROVED
        message = _("Contract %(number)s was approved.") % {"number": contract.number}
        recipients = [contract.owner, *finance_users()]
    elif outcome == "rejected":
        contract.status = S.REJECTED
        kind = K.REJECTED
        message = _("Contract %(number)s was rejected.") % {"number": contract.number}
        recipients = [contract.owner]
    elif outcome in ("returned", "withdrawn"):
        contract.status = S.DRAFT
        kind = K.WITHDRAWN
        message = _("Contract %(number)s is back in draft.") % {"number": contract.number}
        recipients = [contract.owner] if outcome == "returned" else []
    else:
        return
    contract.approval = request
    contract.save(update_fields=["status", "approval", "updated_at"])
    record(contract, kind, actor, approval=request.pk, outcome=outcome)
    # "A contract that becomes approved" rules fire here, after the decision commits.
    record_changed(contract, changes={"status": [S.PENDING, contract.status]}, by=actor)
    if recipients:
        _notify(recipients, f"sales.contract_{outcome}", contract, message)


# --- after approval -----------------------------------------------------------------------


def _move(contract, by, *, frm, to, verb) -> Contract:
    contract = lock_contract(contract)
    require(by, "sales.change_contract", contract)
    if contract.status not in frm:
        raise ConflictError(
            _("A %(status)s contract cannot be %(verb)s.")
            % {"status": contract.get_status_display().lower(), "verb": verb}
        )
    contract._old_status = contract.status
    contract.status = to
    return contract


def _status_changed(contract: Contract, by) -> None:
    record_changed(contract, changes={"status": [contract._old_status, contract.status]}, by=by)


@transaction.atomic
def contract_sign(*, contract: Contract, by, signed_date: dt.date | None = None) -> Contract:
    """The customer signed the approved contract."""
    contract = _move(contract, by, frm=(S.APPROVED,), to=S.SIGNED, verb=_("signed"))
    signed_date = signed_date or contract.signed_date or timezone.localdate()
    if signed_date > timezone.localdate():
        raise ServiceError(_("The signing date cannot be in the future."), field="signed_date")
    contract.signed_date = signed_date
    contract.save(update_fields=["status", "signed_date", "updated_at"])
    record(contract, K.SIGNED, by, signed_date=signed_date)
    _status_changed(contract, by)
    return contract


@transaction.atomic
def contract_start(*, contract: Contract, by) -> Contract:
    contract = _move(contract, by, frm=(S.SIGNED,), to=S.EXECUTING, verb=_("started"))
    if contract.start_date is None:
        contract.start_date = timezone.localdate()
    contract.save(update_fields=["status", "start_date", "updated_at"])
    record(contract, K.EXECUTING, by)
    _status_changed(contract, by)
    return contract


@transaction.atomic
def contract_complete(*, contract: Contract, by) -> Contract:
    contract = _move(
        contract,
        by,
        frm=(S.SIGNED, S.EXECUTING),
        to=S.COMPLETED,
        verb=_("completed"),
    )
    contract.save(update_fields=["status", "updated_at"])
    record(contract, K.COMPLETED, by, receivable=contract.receivable_amount)
    _status_changed(contract, by)
    return contract


@transaction.atomic
def contract_terminate(*, contract: Contract, by, reason: str) -> Contract:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the contract is terminated."), field="reason")
    if len(reason) > 500:
        raise ServiceError(_("The reason is too long (at most 500 characters)."), field="reason")
    contract = _move(
        contract,
        by,
        frm=(S.APPROVED, *EDITABLE_LATER),
        to=S.TERMINATED,
        verb=_("terminated"),
    )
    contract.save(update_fields=["status", "updated_at"])
    record(contract, K.TERMINATED, by, reason=reason)
    _status_changed(contract, by)
    _notify(
        [contract.owner, *finance_users()],
        "sales.contract_terminated",
        contract,
        _("Contract %(number)s was terminated: %(reason)s")
        % {"number": contract.number, "reason": reason},
        actor=by,
    )
    return contract


@transaction.atomic
def contract_set_delivery(*, contract: Contract, by, delivery_status: str) -> Contract:
    """Service/logistics move the delivery status (`sales.deliver_contract`)."""
    if delivery_status not in Contract.Delivery.values:
        raise ServiceError(_("Choose a delivery status."), field="delivery_status")
    contract = lock_contract(contract)
    if by is not None:
        if not by.has_perm("sales.view_contract", contract):
            raise PermissionDenied
        require(by, "sales.deliver_contract")
    if contract.status not in MONEY_STATUSES:
        raise ConflictError(_("Only an approved contract is delivered."))
    old = contract.delivery_status
    if old == delivery_status:
        return contract
    contract.delivery_status = delivery_status
    contract.save(update_fields=["delivery_status", "updated_at"])
    record(contract, K.DELIVERY, by, **{"from": old, "to": delivery_status})
    record_changed(contract, changes={"delivery_status": [old, delivery_status]}, by=by)
    _notify(
        [contract.owner],
        "sales.contract_delivery",
        contract,
        _("Contract %(number)s: %(status)s")
        % {"number": contract.number, "status": contract.get_delivery_status_display()},
        actor=by,
    )
    return contract
