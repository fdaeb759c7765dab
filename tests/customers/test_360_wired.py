"""The 360° page with every app's panel present at once (sales leads, opportunities, quotes,
contracts; tasks; calendar), for the demo roles, with data in each — all render, and the
page's query count stays bounded and flat in the number of rows per panel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.customers.demo import seed_roles as seed_customer_roles
from apps.org.demo import DemoContext, seed_org
from apps.org.models import User
from apps.sales.demo.contracts import seed_roles as seed_contract_roles
from apps.sales.demo.deals import seed_permissions as seed_deal_roles
from apps.sales.demo.leads import seed_roles as seed_lead_roles
from apps.sales.models import Contract
from apps.tasks import calendar_services
from apps.tasks.calendar_demo import seed_roles as seed_calendar_roles
from apps.tasks.demo import seed_roles as seed_task_roles
from tests.customers.factories import CustomerFactory, FollowUpFactory
from tests.sales.factories import (
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
    PipelineFactory,
    QuoteFactory,
)
from tests.tasks.factories import TaskFactory

pytestmark = pytest.mark.django_db

# Recorded: 23 queries for the ceo (scope "all") and 24 for sales1 (own scope: the grants
# look-up) with every panel present; the same with 1 or 4 rows per panel.
# The page shell alone is 12-13 (tests/customers/test_performance.py); each app's panel costs
# one query for its rows (contracts: +1 for the linked tickets, tasks: +1 progress roll-up).
MAX_QUERIES = {"ceo": 23, "sales1": 24}


@pytest.fixture
def demo():
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    for seed in (
        seed_customer_roles,
        seed_lead_roles,
        seed_deal_roles,
        seed_contract_roles,
        seed_task_roles,
        seed_calendar_roles,
    ):
        seed(ctx)
    return ctx


def fill(customer, owner, n: int, pipeline) -> None:
    stage = pipeline.stages.filter(is_won=False, is_lost=False).first()
    for i in range(n):
        LeadFactory(owner=owner, department=owner.department, converted_customer=customer)
        OpportunityFactory(
            owner=owner,
            department=owner.department,
            customer=customer,
            pipeline=pipeline,
            stage=stage,
        )
        QuoteFactory(owner=owner, customer=customer)
        ContractFactory(
            owner=owner,
            department=owner.department,
            customer=customer,
            number=f"HT-2099-{customer.pk:03d}{i:03d}",
            amount=Decimal("1000"),
            status=Contract.Status.EXECUTING,
        )
        TaskFactory(assignee=owner, customer=customer, title=f"回访 {i}")
        FollowUpFactory(customer=customer, owner=owner)
        start = timezone.now() + dt.timedelta(days=i + 1)
        calendar_services.event_create(
            by=owner,
            data={
                "title": f"拜访 {i}",
                "start": start,
                "end": start + dt.timedelta(hours=1),
                "customer": customer,
            },
        )


def page_queries(client, user, customer) -> tuple[int, str]:
    client.force_login(user)
    url = f"/customers/{customer.pk}/"
    client.get(url)  # warm per-process caches (content types, policies, badges)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200, res.content[:300]
    return len(ctx.captured_queries), res.content.decode()


@pytest.mark.parametrize("username", ["ceo", "sales1"])
def test_360_page_renders_every_apps_panel_with_bounded_queries(client, demo, username):
    sales1 = demo.users["sales1"]
    user = User.objects.get(username=username)
    small = CustomerFactory(owner=sales1, department=sales1.department)
    big = CustomerFactory(owner=sales1, department=sales1.department)
    pipeline = PipelineFactory(is_default=True, with_stages=True)
    fill(small, sales1, 1, pipeline)
    fill(big, sales1, 4, pipeline)
    n_small, _html = page_queries(client, user, small)
    n_big, html = page_queries(client, User.objects.get(pk=user.pk), big)
    for text in ("HT-2099-", "回访 3", "拜访 3", "BJ-TEST-"):
        assert text in html, text
    assert n_small == n_big, "a panel queries per row"
    assert n_big <= MAX_QUERIES[username], n_big
