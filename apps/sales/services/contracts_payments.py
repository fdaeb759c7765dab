"""Payment plans (instalments), payments received (回款) and the payment reminders.

`Contract.received_amount` is kept here, under a row lock on the contract: two payments
recorded at once queue on the lock and the second sees the first; together they can never
pass the contract amount (the check constraint `sales_contract_no_overpayment` is the last
guard, and its IntegrityError becomes the same clear 400).

Which instalments are paid: payments pay instalments in due-date order (first in, first out),
whether or not a payment names its instalment — what the customer owes is the contract's
receivable, and the earliest instalments are settled first. `selectors.contracts.plans_unpaid`
computes it in SQL (a running total per contract compared with the received amount).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ConflictError, ServiceError
from apps.org.history import record_history
from apps.studio.automation import record_changed

from ..models import ZERO, Contract, ContractEvent, Payment, PaymentPlan, SalesSettings
from .contracts_common import (
    MONEY_STATUSES,
    finance_users,
    lock_contract,
    money,
    record,
    require,
)

S = Contract.Status
K = ContractEvent.Kind
PLAN_STATUSES = (S.DRAFT, S.PENDING, S.REJECTED, *MONEY_STATUSES)


def _may_see(by, contract: Contract) -> None:
    require(by, "sales.view_contract", contract)


# --- payment plans ------------------------------------------------------------------------


def _plan_total(contract: Contract, exclude_pk=None) -> object:
    qs = PaymentPlan.objects.filter(contract=contract)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.aggregate(t=Sum("amount"))["t"] or ZERO


@transaction.atomic
def plan_save(
    *, contract: Contract, by, data: Mapping, plan: PaymentPlan | None = None
) -> PaymentPlan:
    """Add (or change) an instalment; all instalments together stay within the amount."""
    contract = lock_contract(contract)
    require(by, "sales.change_paymentplan" if plan else "sales.add_paymentplan")
    _may_see(by, contract)
    if plan is not None and plan.contract_id != contract.pk:
        raise ServiceError(_("The instalment belongs to another contract."))
    if contract.status not in PLAN_STATUSES or contract.status == S.COMPLETED:
        raise ConflictError(_("The payment plan of this contract can no longer change."))
    due = data.get("due_date")
    if not isinstance(due, dt.date):
        raise ServiceError(_("Give the due date."), field="due_date")
    amount = money(data.get("amount"))
    total = _plan_total(contract, exclude_pk=plan.pk if plan else None) + amount
    if total > contract.amount:
        raise ServiceError(
            _("The instalments (%(total)s) would exceed the contract amount (%(amount)s).")
            % {"total": total, "amount": contract.amount},
            field="amount",
        )
    note = (data.get("note") or "").strip()[:300]
    if plan is None:
        seq = (PaymentPlan.objects.filter(contract=contract).aggregate(m=Max("seq"))["m"] or 0) + 1
        plan = PaymentPlan.objects.create(
            contract=contract, seq=seq, due_date=due, amount=amount, note=note
        )
        verb = "added"
    else:
        plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
        moved = plan.due_date != due
        plan.due_date, plan.amount, plan.note = due, amount, note
        if moved:  # a new due date deserves new reminders
            plan.reminded_before_at = plan.reminded_after_at = None
        plan.save()
        verb = "changed"
    record(contract, K.PLAN_CHANGED, by, plan=plan.pk, verb=verb, due_date=due, amount=amount)
    return plan


@transaction.atomic
def plan_delete(*, plan: PaymentPlan, by) -> None:
    contract = lock_contract(plan.contract_id)
    require(by, "sales.delete_paymentplan")
    _may_see(by, contract)
    if contract.status in (S.COMPLETED, S.TERMINATED):
        raise ConflictError(_("The payment plan of this contract can no longer change."))
    record(
        contract,
        K.PLAN_CHANGED,
        by,
        plan=plan.pk,
        verb="deleted",
        due_date=plan.due_date,
        amount=plan.amount,
    )
    plan.delete()


# --- payments -----------------------------------------------------------------------------


@transaction.atomic
def payment_record(*, contract: Contract, by, data: Mapping) -> Payment:
    """Finance records money received; refused when it would pass the contract amount."""
    require(by, "sales.add_payment")
    amount = money(data.get("amount"))
    contract = lock_contract(contract)
    _may_see(by, contract)
    if contract.status not in MONEY_STATUSES:
        raise ConflictError(
            _("Payments are recorded on approved contracts; this one is %(status)s.")
            % {"status": contract.get_status_display().lower()}
        )
    receivable = contract.amount - contract.received_amount
    if amount > receivable:
        raise ServiceError(
            _(
                "Overpayment: %(amount)s is more than the %(receivable)s still receivable "
                "on contract %(number)s."
            )
            % {"amount": amount, "receivable": receivable, "number": contract.number},
            field="amount",
            code="overpayment",
        )
    received_at = data.get("received_at") or timezone.localdate()
    if not isinstance(received_at, dt.date):
        raise ServiceError(_("Give the date the money arrived."), field="received_at")
    if received_at > timezone.localdate():
        raise ServiceError(_("The date cannot be in the future."), field="received_at")
    method = data.get("method") or Payment.Method.BANK_TRANSFER
    if method not in Payment.Method.values:
        raise ServiceError(_("Choose a payment method."), field="method")
    plan = data.get("plan")
    if plan is not None and plan.contract_id != contract.pk:
        raise ServiceError(_("The instalment belongs to another contract."), field="plan")
    try:
        with transaction.atomic():
            # The new total from the locked row, not F() + amount: SQLite keeps decimals as
            # floats, and 0.1 + 0.2 summed there would pass 0.30 and trip the check. The
            # filter on the old total makes a stale read (a bug) fail instead of overwrite.
            updated = Contract.objects.filter(
                pk=contract.pk, received_amount=contract.received_amount
            ).update(received_amount=contract.received_amount + amount, updated_at=timezone.now())
    except IntegrityError:
        raise ServiceError(
            _("Overpayment: the contract amount would be exceeded."),
            field="amount",
            code="overpayment",
        ) from None
    if not updated:
        raise ConflictError(_("The contract's payments changed meanwhile; try again."))
    record_history(Contract, [contract.pk], by=by)
    payment = Payment.objects.create(
        contract=contract,
        plan=plan,
        amount=amount,
        received_at=received_at,
        method=method,
        reference=(data.get("reference") or "").strip()[:100],
        note=(data.get("note") or "").strip()[:300],
        recorded_by=by,
    )
    contract.refresh_from_db(fields=["received_amount"])
    record(
        contract,
        K.PAYMENT,
        by,
        payment=payment.pk,
        amount=amount,
        received_at=received_at,
        method=method,
        received=contract.received_amount,
    )
    record_changed(payment, created=True, by=by)
    record_changed(
        contract,
        changes={"received_amount": [contract.received_amount - amount, contract.received_amount]},
        by=by,
    )
    notify.send(
        [contract.owner],
        "sales.payment_received",
        contract,
        message=_("%(amount)s received on contract %(number)s.")
        % {"amount": amount, "number": contract.number},
        actor=by,
    )
    return payment


@transaction.atomic
def payment_delete(*, payment: Payment, by) -> None:
    """Undo a payment recorded by mistake; the contract's received amount goes down."""
    require(by, "sales.delete_payment")
    contract = lock_contract(payment.contract_id)
    _may_see(by, contract)
    payment = Payment.objects.filter(pk=payment.pk).first()
    if payment is None:
        raise ConflictError(_("The payment was already removed."))
    Contract.objects.filter(pk=contract.pk).update(
        received_amount=contract.received_amount - payment.amount, updated_at=timezone.now()
    )
    record_changed(
        contract,
        changes={
            "received_amount": [
                contract.received_amount,
                contract.received_amount - payment.amount,
            ]
        },
        by=by,
    )

    record_history(Contract, [contract.pk], by=by)
    record(
        contract,
        K.PAYMENT_REMOVED,
        by,
        payment=payment.pk,
        amount=payment.amount,
        received_at=payment.received_at,
    )
    payment.delete()


# --- reminders (daily job) ----------------------------------------------------------------


def payment_remind_due(*, today: dt.date | None = None) -> dict:
    """Remind owner and finance of instalments due soon and of overdue ones, once each.

    Before: due within `SalesSettings.payment_reminder_days` days (marker
    `reminded_before_at`). After: past due and still unpaid (marker `reminded_after_at`).
    Paid instalments (running total within the received amount) are skipped.
    """
    from ..selectors.contracts import plans_unpaid

    today = today or timezone.localdate()
    days = SalesSettings.load().payment_reminder_days
    finance = finance_users()
    base = plans_unpaid(PaymentPlan.objects.filter(contract__status__in=MONEY_STATUSES))
    soon = base.filter(
        due_date__gte=today,
        due_date__lte=today + dt.timedelta(days=days),
        reminded_before_at__isnull=True,
    )
    late = base.filter(due_date__lt=today, reminded_after_at__isnull=True)
    counts = {"before": 0, "after": 0}
    for key, qs, marker in (
        ("before", soon, "reminded_before_at"),
        ("after", late, "reminded_after_at"),
    ):
        for plan in qs.select_related("contract", "contract__owner", "contract__customer"):
            with transaction.atomic():
                # Claim the reminder first: a second run (or a second worker) finds it taken.
                claimed = PaymentPlan.objects.filter(
                    pk=plan.pk, **{f"{marker}__isnull": True}
                ).update(**{marker: timezone.now()})
                if not claimed:
                    continue
                c = plan.contract
                args = {
                    "number": c.number,
                    "customer": c.customer.name,
                    "seq": plan.seq,
                    "amount": plan.unpaid,
                    "due": plan.due_date.isoformat(),
                }
                if key == "before":
                    message = (
                        _(
                            "Instalment %(seq)s of contract %(number)s (%(customer)s), "
                            "%(amount)s, is due on %(due)s."
                        )
                        % args
                    )
                else:
                    message = (
                        _(
                            "Instalment %(seq)s of contract %(number)s (%(customer)s), "
                            "%(amount)s, was due on %(due)s and is unpaid."
                        )
                        % args
                    )
                notify.send(
                    [c.owner, *finance],
                    f"sales.payment_due_{key}",
                    c,
                    message=message,
                )
                counts[key] += 1
    return counts
