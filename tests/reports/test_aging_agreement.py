"""Receivables aging exists twice — the money area's `contracts/aging/` and the
`reports/receivables-aging/` report. Both use `apps.sales.selectors.contracts.unpaid_parts`
and the same day count; on a demo-like book of contracts their API answers agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from apps.sales.models import Contract, PaymentPlan
from apps.sales.services import contracts_payments as payments
from tests.sales.money_org import *  # noqa: F403
from tests.sales.money_org import active_contract, client_for, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(money_org):
    """Contracts of three reps: instalments overdue by 0 (due today), 10, 45, 75, 95 and 200
    days, one not yet due, payments covering part of the plans, a contract without a plan, one
    paid beyond its plans, a completed one with money open, and ones that don't count."""
    m = money_org
    today = timezone.localdate()
    a = active_contract(m.rep, amount="1000.00", signed_date=today - dt.timedelta(days=220))
    for seq, days, amount in (
        (1, 200, "100"),
        (2, 95, "200"),
        (3, 45, "200"),
        (4, 10, "200"),
        (5, 0, "100"),
        (6, -5, "100"),
    ):
        PaymentPlan.objects.create(
            contract=a, seq=seq, due_date=today - dt.timedelta(days=days), amount=D(amount)
        )
    payments.payment_record(contract=a, by=fresh(m.finance), data={"amount": "150"})
    active_contract(  # no plan: ages from signing, 70 days
        m.rep_north, amount="500.00", signed_date=today - dt.timedelta(days=70)
    )
    c = active_contract(m.rep_peer, amount="800.00", signed_date=today - dt.timedelta(days=30))
    PaymentPlan.objects.create(
        contract=c, seq=1, due_date=today - dt.timedelta(days=20), amount=D("300")
    )
    payments.payment_record(contract=c, by=fresh(m.finance), data={"amount": "400"})
    done = active_contract(
        m.rep, amount="300.00", status=Contract.Status.COMPLETED, signed_date=today
    )
    payments.payment_record(contract=done, by=fresh(m.finance), data={"amount": "100"})
    active_contract(m.rep, amount="999.00", status=Contract.Status.DRAFT)  # not receivable
    paid = active_contract(m.rep_peer, amount="50.00")
    payments.payment_record(contract=paid, by=fresh(m.finance), data={"amount": "50"})
    return m


def _money(value) -> D:
    return D(str(value)).quantize(D("0.01"))


def test_contracts_aging_and_the_report_give_the_same_numbers(book):
    client = client_for(book.finance)
    sales = client.get("/api/v1/contracts/aging/", {"by": "owner"})
    report = client.get("/api/v1/reports/receivables-aging/")
    assert sales.status_code == 200 and report.status_code == 200
    sections = {s["key"]: s for s in report.data["sections"]}
    assert _money(sections["buckets"]["totals"]["amount"]) == D(sales.data["total"]["total"])
    assert D(sales.data["total"]["total"]) == D("1950.00")

    def split(buckets: dict) -> dict:
        # The report splits the money area's "90+" into 91–180 and over 180 days.
        out = {k: _money(buckets[k]) for k in ("current", "d0_30", "d31_60", "d61_90")}
        out["d90_plus"] = _money(buckets["d91_180"]) + _money(buckets["d181"])
        return out

    # Owners by name (the report's JSON rows carry the name only).
    report_by_owner = {r["person"]: split(r) for r in sections["people"]["rows"]}
    sales_by_owner = {
        r["label"]: {k: D(v) for k, v in r["buckets"].items()} for r in sales.data["results"]
    }
    assert report_by_owner == sales_by_owner
    rep = next(
        {k: D(v) for k, v in r["buckets"].items()}
        for r in sales.data["results"]
        if r["key"] == book.rep.pk
    )
    # rep: 150 received pays instalment 1 (100) and 50 of instalment 2 (150 left, 95 days);
    # the 100 no plan covers ages from signing (220 days); due today is overdue by 0 days in
    # both; the completed contract's 200 ages from its signing, today.
    assert rep == {
        "current": D("100.00"),
        "d0_30": D("500.00"),
        "d31_60": D("200.00"),
        "d61_90": D("0.00"),
        "d90_plus": D("250.00"),
    }
