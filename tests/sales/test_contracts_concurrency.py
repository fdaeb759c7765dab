"""Real concurrency on PostgreSQL: two payments (or invoice requests) recorded at the same
moment that together pass the contract amount — exactly one succeeds; contract numbers taken
at once are all different."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.org.errors import ServiceError
from apps.sales.models import Contract, Invoice, Payment
from apps.sales.services import contracts as services
from apps.sales.services import contracts_invoices as invoices
from apps.sales.services import contracts_payments as payments
from tests.customers.factories import CustomerFactory
from tests.sales.money_org import *  # noqa: F403
from tests.sales.money_org import active_contract, fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_payments_that_together_overpay_one_fails(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    finance = fresh(money_org.finance)
    results = run_together(
        [
            lambda: payments.payment_record(
                contract=contract, by=fresh(finance), data={"amount": "600.00"}
            ),
            lambda: payments.payment_record(
                contract=contract, by=fresh(finance), data={"amount": "600.00"}
            ),
        ]
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1, results
    assert isinstance(failures[0], ServiceError) and failures[0].field == "amount"
    contract.refresh_from_db()
    assert contract.received_amount == Decimal("600.00")
    assert Payment.objects.filter(contract=contract).count() == 1


def test_two_invoice_requests_that_together_over_invoice_one_fails(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    results = run_together(
        [
            lambda: invoices.invoice_request(
                contract=contract, by=fresh(money_org.rep), data={"amount": "700"}
            ),
            lambda: invoices.invoice_request(
                contract=contract, by=fresh(money_org.rep), data={"amount": "700"}
            ),
        ]
    )
    assert len([r for r in results if isinstance(r, ServiceError)]) == 1, results
    contract.refresh_from_db()
    assert contract.invoiced_amount == Decimal("700.00")
    assert Invoice.objects.filter(contract=contract).count() == 1


def test_simultaneous_creates_get_distinct_numbers(money_org):
    customer = CustomerFactory(owner=money_org.rep)
    results = run_together(
        [
            (
                lambda i=i: services.contract_create(
                    by=fresh(money_org.rep),
                    data={"customer": customer, "title": f"c{i}", "amount": "1"},
                )
            )
            for i in range(6)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = list(Contract.objects.values_list("number", flat=True))
    assert len(numbers) == 6 == len(set(numbers))
