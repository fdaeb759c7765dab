"""Real concurrency on PostgreSQL: the same web form posted several times at once makes one
original lead and duplicates linked to it; concurrent round-robin stays fair."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.sales.models import Lead
from apps.sales.services.leads import lead_create
from tests.sales.factories import AssignmentRuleFactory, LeadFormFactory

from .leads_setup import org_fixture  # noqa: F401 - the `org` fixture

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


def test_the_same_form_posted_at_once_makes_one_original(org):
    form = LeadFormFactory(rate_limit_per_hour=100)
    data = {
        "form_key": form.key,
        "company": "上海并发机电有限公司",
        "contact_name": "王",
        "mobile": "13800001111",
    }

    def post(i):
        # Different spellings of one company: the normalised key is the same.
        body = {
            **data,
            "company": ["上海并发机电有限公司", "上海 并发 机电", "上海并发机电Co., Ltd."][i % 3],
        }
        return APIClient().post("/api/v1/public/leads/", body, format="json").status_code

    codes = run_together([lambda i=i: post(i) for i in range(6)])
    assert codes == [201] * 6
    assert Lead.objects.count() == 6
    originals = Lead.objects.filter(duplicate_of__isnull=True)
    assert originals.count() == 1
    assert Lead.objects.filter(duplicate_of=originals.get()).count() == 5


def test_concurrent_round_robin_is_fair(org):
    AssignmentRuleFactory(strategy="round_robin", users=[org.rep, org.rep_peer])

    def make(i):
        return lead_create(
            by=None, data={"company": f"并发{i}号公司", "mobile": f"1390000{i:04d}"}
        ).owner_id

    owners = run_together([lambda i=i: make(i) for i in range(8)])
    assert all(isinstance(o, int) for o in owners), owners
    assert Counter(owners) == {org.rep.pk: 4, org.rep_peer.pk: 4}
