"""Money-area services: numbering, the approval outcomes, the status flow, payment and
receivable arithmetic with Decimal, overpayment and over-invoicing refused, invoices, plans,
reminders, aging and the to-do provider."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.approvals.models import ApproverType, Kind
from apps.notify.models import Notification
from apps.org.errors import ConflictError, ServiceError
from apps.sales.models import Contract, ContractEvent, Invoice, PaymentPlan
from apps.sales.selectors import contracts as selectors
from apps.sales.services import contracts as services
from apps.sales.services import contracts_invoices as invoices
from apps.sales.services import contracts_payments as payments
from apps.sales.services.contracts_numbering import next_contract_number
from tests.approvals.factories import template_with_steps
from tests.customers.factories import CustomerFactory
from tests.sales.money_org import *  # noqa: F403
from tests.sales.money_org import active_contract, approve, fresh, reject

S = Contract.Status
D = Decimal


def _draft(owner, amount="100000.00"):
    customer = CustomerFactory(owner=owner)
    return services.contract_create(
        by=fresh(owner), data={"customer": customer, "title": "年度合同", "amount": amount}
    )


# --- numbering --------------------------------------------------------------------------------


def test_numbers_are_ht_year_sequence(money_org):
    year = timezone.localdate().year
    first = _draft(money_org.rep)
    second = _draft(money_org.rep)
    assert first.number == f"HT-{year}-000001"
    assert second.number == f"HT-{year}-000002"
    assert first.department == money_org.east
    assert first.events.filter(kind=ContractEvent.Kind.CREATED).exists()


def test_numbering_passes_999999(money_org):
    year = timezone.localdate().year
    active_contract(money_org.rep).__class__.objects.update(number=f"HT-{year}-999999")
    assert next_contract_number() == f"HT-{year}-1000000"


# --- approval ---------------------------------------------------------------------------------


def test_submit_and_director_approves_below_500k(money_org):
    contract = _draft(money_org.rep, "499999.99")
    contract = services.contract_submit(contract=contract, by=fresh(money_org.rep))
    assert contract.status == S.PENDING
    assert contract.approval is not None
    approve(money_org.director, contract)
    assert contract.status == S.APPROVED
    kinds = list(contract.events.values_list("kind", flat=True))
    assert "submitted" in kinds and "approved" in kinds
    told = set(
        Notification.objects.filter(verb="sales.contract_approved").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"rep", "finance"}


def test_500k_needs_director_then_ceo(money_org):
    contract = services.contract_submit(
        contract=_draft(money_org.rep, "500000.00"), by=fresh(money_org.rep)
    )
    approve(money_org.director, contract)
    assert contract.status == S.PENDING
    approve(money_org.ceo, contract)
    assert contract.status == S.APPROVED


def test_rejection_then_resubmit_after_edit(money_org):
    contract = services.contract_submit(contract=_draft(money_org.rep), by=fresh(money_org.rep))
    reject(money_org.director, contract)
    assert contract.status == S.REJECTED
    services.contract_update(contract=contract, by=fresh(money_org.rep), data={"amount": "90000"})
    contract = services.contract_submit(contract=contract, by=fresh(money_org.rep))
    assert contract.status == S.PENDING
    approve(money_org.director, contract)
    assert contract.status == S.APPROVED
    assert contract.amount == D("90000.00")


def test_withdrawn_approval_puts_contract_back_in_draft(money_org):
    from apps.approvals.services import approval_withdraw

    contract = services.contract_submit(contract=_draft(money_org.rep), by=fresh(money_org.rep))
    approval_withdraw(request=contract.approval, by=fresh(money_org.rep))
    contract.refresh_from_db()
    assert contract.status == S.DRAFT
    assert contract.events.filter(kind="withdrawn").exists()


def test_chain_without_applicable_steps_approves_at_once(money_org):
    from apps.approvals.models import ApprovalTemplate

    ApprovalTemplate.objects.filter(code="contract").delete()
    template_with_steps(
        "contract",
        {
            "name": "Only big",
            "approver_type": ApproverType.USERS,
            "users": [money_org.ceo],
            "condition": {
                "match": "all",
                "rules": [{"field": "amount", "op": "gt", "value": "1e9"}],
            },
        },
        kind=Kind.CONTRACT,
    )
    contract = services.contract_submit(contract=_draft(money_org.rep), by=fresh(money_org.rep))
    assert contract.status == S.APPROVED
    assert contract.approval_id is not None


def test_only_draft_or_rejected_is_submitted(money_org):
    contract = active_contract(money_org.rep)
    with pytest.raises(ConflictError):
        services.contract_submit(contract=contract, by=fresh(money_org.rep))


def test_amount_fixed_after_approval(money_org):
    contract = active_contract(money_org.rep, status=S.APPROVED)
    with pytest.raises(ServiceError) as exc:
        services.contract_update(contract=contract, by=fresh(money_org.rep), data={"amount": "1"})
    assert "amount" in exc.value.errors
    services.contract_update(contract=contract, by=fresh(money_org.rep), data={"terms": "新条款"})
    contract.refresh_from_db()
    assert contract.terms == "新条款" and contract.amount == D("100000.00")


def test_other_rep_cannot_change_or_submit(money_org):
    contract = _draft(money_org.rep)
    with pytest.raises(PermissionDenied):
        services.contract_submit(contract=contract, by=fresh(money_org.rep_peer))
    contract.refresh_from_db()
    assert contract.status == S.DRAFT


# --- the flow after approval ------------------------------------------------------------------


def test_sign_start_complete(money_org):
    contract = active_contract(money_org.rep, status=S.APPROVED)
    services.contract_sign(contract=contract, by=fresh(money_org.rep))
    contract.refresh_from_db()
    assert contract.status == S.SIGNED and contract.signed_date == timezone.localdate()
    services.contract_start(contract=contract, by=fresh(money_org.rep))
    services.contract_complete(contract=contract, by=fresh(money_org.rep))
    contract.refresh_from_db()
    assert contract.status == S.COMPLETED
    with pytest.raises(ConflictError):
        services.contract_terminate(contract=contract, by=fresh(money_org.rep), reason="x")


def test_terminate_needs_reason(money_org):
    contract = active_contract(money_org.rep, status=S.SIGNED)
    with pytest.raises(ServiceError):
        services.contract_terminate(contract=contract, by=fresh(money_org.rep), reason=" ")
    services.contract_terminate(contract=contract, by=fresh(money_org.rep), reason="客户取消")
    contract.refresh_from_db()
    assert contract.status == S.TERMINATED


def test_service_sets_delivery_status_rep_cannot(money_org):
    contract = active_contract(money_org.rep)
    services.contract_set_delivery(
        contract=contract, by=fresh(money_org.service), delivery_status="shipped"
    )
    contract.refresh_from_db()
    assert contract.delivery_status == "shipped"
    assert contract.events.filter(kind="delivery").exists()
    with pytest.raises(PermissionDenied):
        services.contract_set_delivery(
            contract=contract, by=fresh(money_org.rep), delivery_status="delivered"
        )
    with pytest.raises(ServiceError):
        services.contract_set_delivery(
            contract=contract, by=fresh(money_org.service), delivery_status="lost"
        )


# --- payments ---------------------------------------------------------------------------------


def test_payment_arithmetic_is_decimal(money_org):
    contract = active_contract(money_org.rep, amount="0.30")
    fin = fresh(money_org.finance)
    payments.payment_record(contract=contract, by=fin, data={"amount": "0.1"})
    payments.payment_record(contract=contract, by=fin, data={"amount": 0.2})
    contract.refresh_from_db()
    assert contract.received_amount == D("0.30")
    assert contract.receivable_amount == D("0.00")
    assert isinstance(contract.received_amount, Decimal)


def test_received_and_receivable(money_org):
    contract = active_contract(money_org.rep, amount="100000.00")
    payments.payment_record(
        contract=contract, by=fresh(money_org.finance), data={"amount": "33333.33"}
    )
    payments.payment_record(
        contract=contract, by=fresh(money_org.finance), data={"amount": "33333.33"}
    )
    contract.refresh_from_db()
    assert contract.received_amount == D("66666.66")
    assert contract.receivable_amount == D("33333.34")
    assert contract.events.filter(kind="payment").count() == 2


def test_overpayment_refused_with_clear_error(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    payments.payment_record(contract=contract, by=fresh(money_org.finance), data={"amount": "600"})
    with pytest.raises(ServiceError) as exc:
        payments.payment_record(
            contract=contract, by=fresh(money_org.finance), data={"amount": "400.01"}
        )
    assert exc.value.field == "amount"
    assert "Overpayment" in str(exc.value.message) and "400.00" in str(exc.value.message)
    contract.refresh_from_db()
    assert contract.received_amount == D("600.00")
    assert contract.payments.count() == 1


def test_stale_read_cannot_overwrite_the_total(money_org, monkeypatch):
    """Even a stale contract row (a bug bypassing the lock) cannot lose or overpay money."""
    contract = active_contract(money_org.rep, amount="1000.00")
    Contract.objects.filter(pk=contract.pk).update(received_amount=D("1000.00"))
    stale = Contract.objects.get(pk=contract.pk)
    stale.received_amount = D("0.00")
    monkeypatch.setattr(payments, "lock_contract", lambda c: stale)
    with pytest.raises(ConflictError):
        payments.payment_record(
            contract=contract, by=fresh(money_org.finance), data={"amount": "1"}
        )
    contract.refresh_from_db()
    assert contract.received_amount == D("1000.00")


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "1.001", "NaN", "1e20"])
def test_bad_amounts_refused(money_org, bad):
    contract = active_contract(money_org.rep)
    with pytest.raises(ServiceError):
        payments.payment_record(
            contract=contract, by=fresh(money_org.finance), data={"amount": bad}
        )


def test_payments_only_on_approved_contracts_and_by_finance(money_org):
    draft = _draft(money_org.rep)
    with pytest.raises(ConflictError):
        payments.payment_record(contract=draft, by=fresh(money_org.finance), data={"amount": "1"})
    contract = active_contract(money_org.rep)
    with pytest.raises(PermissionDenied):
        payments.payment_record(contract=contract, by=fresh(money_org.rep), data={"amount": "1"})


def test_payment_delete_gives_receivable_back(money_org):
    contract = active_contract(money_org.rep, amount="500.00")
    payment = payments.payment_record(
        contract=contract, by=fresh(money_org.finance), data={"amount": "200"}
    )
    payments.payment_delete(payment=payment, by=fresh(money_org.finance))
    contract.refresh_from_db()
    assert contract.received_amount == D("0.00")
    assert contract.events.filter(kind="payment_removed").exists()


# --- plans ------------------------------------------------------------------------------------


def test_plans_cannot_exceed_amount(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    today = timezone.localdate()
    payments.plan_save(
        contract=contract, by=fresh(money_org.rep), data={"due_date": today, "amount": "600"}
    )
    with pytest.raises(ServiceError):
        payments.plan_save(
            contract=contract, by=fresh(money_org.rep), data={"due_date": today, "amount": "400.01"}
        )
    plan = payments.plan_save(
        contract=contract, by=fresh(money_org.rep), data={"due_date": today, "amount": "400"}
    )
    assert plan.seq == 2


def test_fifo_paid_instalments(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    today = timezone.localdate()
    for days, amount in ((-40, "300"), (-10, "300"), (20, "400")):
        payments.plan_save(
            contract=contract,
            by=fresh(money_org.rep),
            data={"due_date": today + dt.timedelta(days=days), "amount": amount},
        )
    payments.payment_record(contract=contract, by=fresh(money_org.finance), data={"amount": "450"})
    contract.refresh_from_db()
    unpaid = {
        p.seq: p.unpaid
        for p in selectors.plans_unpaid(PaymentPlan.objects.filter(contract=contract))
    }
    assert unpaid == {2: D("150.00"), 3: D("400.00")}
    state = {p.seq: p.unpaid for p in selectors.plans_with_state(contract)}
    assert state == {1: D("0.00"), 2: D("150.00"), 3: D("400.00")}


# --- invoices ---------------------------------------------------------------------------------


def test_invoice_requested_issued_and_over_invoicing_refused(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    invoice = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "700"}
    )
    assert invoice.status == Invoice.Status.REQUESTED
    assert invoice.title == contract.customer.name
    with pytest.raises(ServiceError) as exc:
        invoices.invoice_request(
            contract=contract, by=fresh(money_org.rep), data={"amount": "300.01"}
        )
    assert exc.value.field == "amount" and "Over-invoicing" in str(exc.value.message)
    invoices.invoice_issue(invoice=invoice, by=fresh(money_org.finance), invoice_number="No.123")
    invoice.refresh_from_db()
    contract.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED and invoice.issued_date == timezone.localdate()
    assert contract.invoiced_amount == D("700.00")
    with pytest.raises(ConflictError):
        invoices.invoice_issue(invoice=invoice, by=fresh(money_org.finance), invoice_number="2")


def test_rejected_invoice_releases_amount(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    invoice = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "1000"}
    )
    with pytest.raises(PermissionDenied):
        invoices.invoice_reject(invoice=invoice, by=fresh(money_org.rep), reason="x")
    invoices.invoice_reject(invoice=invoice, by=fresh(money_org.finance), reason="抬头错误")
    contract.refresh_from_db()
    assert contract.invoiced_amount == D("0.00")
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.REJECTED


def test_vat_special_needs_tax_details(money_org):
    contract = active_contract(money_org.rep)
    with pytest.raises(ServiceError) as exc:
        invoices.invoice_request(
            contract=contract, by=fresh(money_org.rep), data={"amount": "1", "kind": "vat_special"}
        )
    assert {"tax_number", "address_phone", "bank_account"} <= set(exc.value.errors)


def test_invoice_template_approval(money_org):
    template_with_steps(
        "invoice",
        {"name": "Finance", "approver_type": ApproverType.USERS, "users": [money_org.finance]},
        kind=Kind.INVOICE,
    )
    contract = active_contract(money_org.rep, amount="1000.00")
    first = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "400"}
    )
    assert first.status == Invoice.Status.PENDING and first.approval_id
    approve(money_org.finance, first)
    assert first.status == Invoice.Status.APPROVED
    second = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "600"}
    )
    reject(money_org.finance, second)
    assert second.status == Invoice.Status.REJECTED
    contract.refresh_from_db()
    assert contract.invoiced_amount == D("400.00")


# --- reminders, aging, to-do ------------------------------------------------------------------


def test_reminders_before_and_after_once(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    today = timezone.localdate()
    soon = PaymentPlan.objects.create(
        contract=contract, seq=1, due_date=today + dt.timedelta(days=2), amount=D("300")
    )
    late = PaymentPlan.objects.create(
        contract=contract, seq=2, due_date=today - dt.timedelta(days=3), amount=D("300")
    )
    PaymentPlan.objects.create(
        contract=contract, seq=3, due_date=today + dt.timedelta(days=30), amount=D("400")
    )
    assert payments.payment_remind_due() == {"before": 1, "after": 1}
    assert payments.payment_remind_due() == {"before": 0, "after": 0}
    soon.refresh_from_db()
    late.refresh_from_db()
    assert soon.reminded_before_at and late.reminded_after_at
    told = set(
        Notification.objects.filter(verb__startswith="sales.payment_due").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"rep", "finance"}


def test_paid_instalments_get_no_reminder(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    today = timezone.localdate()
    PaymentPlan.objects.create(
        contract=contract, seq=1, due_date=today - dt.timedelta(days=3), amount=D("300")
    )
    payments.payment_record(contract=contract, by=fresh(money_org.finance), data={"amount": "300"})
    assert payments.payment_remind_due() == {"before": 0, "after": 0}


def test_aging_buckets_by_customer_and_owner(money_org):
    today = timezone.localdate()
    a = active_contract(money_org.rep, amount="1000.00", signed_date=today - dt.timedelta(days=100))
    for seq, days, amount in ((1, 95, "200"), (2, 45, "300"), (3, 10, "300"), (4, -5, "200")):
        PaymentPlan.objects.create(
            contract=a, seq=seq, due_date=today - dt.timedelta(days=days), amount=D(amount)
        )
    payments.payment_record(contract=a, by=fresh(money_org.finance), data={"amount": "100"})
    # no plan: the whole receivable ages from the signing date
    b = active_contract(
        money_org.rep_north, amount="500.00", signed_date=today - dt.timedelta(days=70)
    )
    rows, total = selectors.receivables_aging(
        user=fresh(money_org.finance), by="customer", today=today
    )
    by_key = {r.key: r for r in rows}
    assert by_key[a.customer_id].buckets == {
        "current": D("200.00"),
        "d0_30": D("300.00"),
        "d31_60": D("300.00"),
        "d61_90": D("0.00"),
        "d90_plus": D("100.00"),
    }
    assert by_key[b.customer_id].buckets["d61_90"] == D("500.00")
    assert total.total == D("1400.00")
    owners, _total = selectors.receivables_aging(user=fresh(money_org.rep), by="owner", today=today)
    assert [r.key for r in owners] == [money_org.rep.pk]
    with pytest.raises(PermissionDenied):
        selectors.receivables_aging(user=fresh(money_org.service), by="customer")


def test_todo_payments_due_for_finance(money_org):
    from apps.org.todos import providers_for

    contract = active_contract(money_org.rep, amount="1000.00")
    today = timezone.localdate()
    PaymentPlan.objects.create(
        contract=contract, seq=1, due_date=today - dt.timedelta(days=1), amount=D("300")
    )
    PaymentPlan.objects.create(
        contract=contract, seq=2, due_date=today + dt.timedelta(days=60), amount=D("300")
    )
    finance = fresh(money_org.finance)
    provider = next(p for p in providers_for(finance) if p.kind == "payment")
    page = provider.fetch(finance, 5)
    assert page.count == 1 and page.items[0].overdue
    assert provider.fetch(finance, 0).count == 1
    assert "payment" not in [p.kind for p in providers_for(fresh(money_org.rep))]


def test_integrity_error_becomes_service_error(money_org, monkeypatch):
    """The check constraint is the last guard: its IntegrityError is the same clear error."""
    from django.db import IntegrityError
    from django.db.models.query import QuerySet

    contract = active_contract(money_org.rep, amount="1000.00")

    def boom(self, **kwargs):
        raise IntegrityError("sales_contract_no_overpayment")

    monkeypatch.setattr(QuerySet, "update", boom)
    with pytest.raises(ServiceError) as exc:
        payments.payment_record(
            contract=contract, by=fresh(money_org.finance), data={"amount": "1"}
        )
    monkeypatch.undo()
    assert exc.value.code == "overpayment" and exc.value.field == "amount"
    assert contract.payments.count() == 0
