"""Real concurrency on PostgreSQL: threads with their own connections race for one thing."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from apps.customers import services
from apps.customers.models import Contact, Customer, CustomerEvent
from apps.org.errors import ConflictError, ServiceError

from .factories import ClaimLimitFactory, CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VARIANTS = [
    "北京华东机电有限公司",
    "北京华东机电",
    "北京 华东 机电（有限公司）",
    "北京华东机电股份有限公司",
    "北京华东机电Co., Ltd.",
    "北京华东机电公司",
    "北京·华东·机电",
    "北京华东机电有限责任公司",
]


def run_together(calls) -> list:
    """Run the callables in parallel threads released at once; return results/exceptions."""
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


def test_simultaneous_creates_of_one_name_make_one_customer(org):
    users = [org.rep, org.rep_peer, org.rep_north, org.director] * 2

    results = run_together(
        [
            (lambda u=u, n=n: services.customer_create(by=u, data={"name": n}))
            for u, n in zip(users, VARIANTS, strict=True)
        ]
    )

    won = [r for r in results if isinstance(r, Customer)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert len(lost) == 7 and all(isinstance(e, ServiceError) for e in lost), lost
    assert all(e.field == "name" and e.code == "duplicate" for e in lost)
    assert Customer.objects.count() == 1
    assert CustomerEvent.objects.filter(kind="created").count() == 1


def test_simultaneous_api_creates_answer_one_201_and_clear_400s(org):
    def post(user, name):
        client = APIClient()
        client.force_authenticate(user)
        return client.post("/api/v1/customers/", {"name": name}, format="json")

    users = [org.rep, org.rep_peer, org.rep_north, org.director] * 2
    responses = run_together(
        [(lambda u=u, n=n: post(u, n)) for u, n in zip(users, VARIANTS, strict=True)]
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * 7, [r.content for r in responses]
    for r in responses:
        if r.status_code == 400:
            assert list(r.json()) == ["name"]
    assert Customer.objects.count() == 1


def test_two_reps_claiming_one_pool_customer(org):
    c = CustomerFactory(owner=None)
    reps = [org.rep, org.rep_peer, org.rep_north] * 4

    results = run_together([(lambda u=u: services.customer_claim(customer=c, by=u)) for u in reps])

    won = [r for r in results if isinstance(r, Customer)]
    assert len(won) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, Customer))
    c.refresh_from_db()
    assert c.owner == won[0].owner
    assert CustomerEvent.objects.filter(customer=c, kind="claimed").count() == 1


def test_one_rep_claiming_many_at_once_stays_within_the_limit(org):
    ClaimLimitFactory(role=Group.objects.get(name="reps"), max_customers=3)
    pool = [CustomerFactory(owner=None) for _ in range(8)]

    results = run_together(
        [(lambda c=c: services.customer_claim(customer=c, by=org.rep)) for c in pool]
    )

    assert sum(isinstance(r, Customer) for r in results) == 3, results
    assert Customer.objects.filter(owner=org.rep).count() == 3


def test_simultaneous_primary_contacts_leave_one_primary(org):
    c = CustomerFactory(owner=org.rep)

    results = run_together(
        [
            (
                lambda i=i: services.contact_create(
                    customer=c, by=org.rep, data={"name": f"联系人{i}", "is_primary": True}
                )
            )
            for i in range(6)
        ]
    )

    assert all(isinstance(r, Contact) for r in results), results
    assert Contact.objects.filter(customer=c).count() == 6
    assert Contact.objects.filter(customer=c, is_primary=True).count() == 1
