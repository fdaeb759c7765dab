"""Drill-down from the built-in reports: every linked row lists exactly the records behind its
number, with the report's filters and the viewer's scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import Customer
from apps.org.services import role_scope_set
from apps.sales.models import Contract, Opportunity, Stage, StageChange
from tests.customers.factories import CustomerFactory
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission
from tests.sales.factories import (
    ContractFactory,
    OpportunityFactory,
    PaymentPlanFactory,
    PipelineFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    east, north = DepartmentFactory(name="华东"), DepartmentFactory(name="华北")
    rep, other = UserFactory(department=east), UserFactory(department=north)
    pipeline = PipelineFactory(name="直销", is_default=True, with_stages=True)

    def stage(name):
        return Stage.objects.get(pipeline=pipeline, name=name)

    first, second, third = stage("初步接洽"), stage("需求确认"), stage("方案报价")
    won, lost = stage("赢单"), stage("输单")
    for owner in (rep, rep, other):
        OpportunityFactory(owner=owner, stage=first, amount=Decimal("100"))
    OpportunityFactory(owner=rep, stage=third, amount=Decimal("200"))
    OpportunityFactory(owner=other, stage=won, amount=Decimal("300"), status="won")
    gone = OpportunityFactory(
        owner=rep, stage=lost, lost_from_stage=second, amount=Decimal("80"), status="lost"
    )
    StageChange.objects.create(opportunity=gone, from_stage=first, to_stage=second)
    StageChange.objects.create(opportunity=gone, from_stage=second, to_stage=lost)
    OpportunityFactory(owner=other, stage=lost, status="lost")  # lost without history
    # last year: outside this_year
    OpportunityFactory(owner=rep, stage=first, created_at=timezone.now() - dt.timedelta(days=800))

    today = timezone.localdate()
    for owner, level, source in ((rep, "A", "web"), (rep, "B", "web"), (other, "B", "")):
        CustomerFactory(owner=owner, level=level, source=source, province="上海")
    c1 = ContractFactory(
        owner=rep, amount=Decimal("1000"), status=Contract.Status.SIGNED, signed_date=today
    )
    PaymentPlanFactory(contract=c1, seq=1, amount=Decimal("400"), due_date=today)
    PaymentPlanFactory(
        contract=c1, seq=2, amount=Decimal("600"), due_date=today - dt.timedelta(days=45)
    )
    ContractFactory(
        owner=other,
        amount=Decimal("500"),
        status=Contract.Status.EXECUTING,
        signed_date=today - dt.timedelta(days=100),
    )
    ContractFactory(owner=rep, amount=Decimal("700"), status=Contract.Status.DRAFT)
    return {"east": east, "north": north, "rep": rep, "other": other}


def drilled(client, key, query=None):
    """(section key, row, drill count) for every row with a drill link on the report page."""
    page = client.get(reverse("reports:builtin", args=[key]), query or {})
    assert page.status_code == 200
    out = []
    for s in page.context["sections"]:
        for row in s["section"].rows:
            url = row.get("_drill")
            if not url:
                continue
            response = client.get(url)
            assert response.status_code == 200, url
            out.append((s["section"].key, row, response))
    assert out, key
    return out


def test_funnel_drill_counts_equal_the_funnel(client, world):
    client.force_login(UserFactory(is_superuser=True))
    seen = set()
    for section, row, response in drilled(client, "funnel"):
        count = response.context["page"].paginator.count
        if section == "stages" and row["reached"] is not None:
            assert count == row["reached"], row
        else:
            assert count == row["count"], (section, row)
        seen.add(section)
    assert seen == {"stages", "amounts"}


def test_leaderboard_profile_and_aging_drills(client, world):
    client.force_login(UserFactory(is_superuser=True))
    for _section, row, response in drilled(client, "leaderboard", {"period": "this_year"}):
        assert response.context["page"].paginator.count == row["contracts"], row
    sections = set()
    for section, row, response in drilled(client, "customer-profile"):
        assert response.context["page"].paginator.count == row["customers"], (section, row)
        sections.add(section)
    assert sections == {"source", "province", "industry", "level", "status"}
    for section, row, response in drilled(client, "receivables-aging"):
        records = list(response.context["page"].object_list)
        if section == "buckets":
            assert sum(c.drill_items for c in records) == row["items"], row
            assert sum((c.drill_amount for c in records), Decimal(0)) == row["amount"], row
        else:
            assert sum((c.drill_amount for c in records), Decimal(0)) == row["total"], row


def test_drill_keeps_scope_and_filters(client, world):
    rep = world["rep"]
    role = make_role("sales", Opportunity, scope="department", members=[rep])
    role.permissions.add(permission(Customer, "view_customer"))
    role_scope_set(role=role, model=Customer, scope="department")
    client.force_login(rep)
    results = drilled(client, "funnel")
    first = next(r for s, r, _resp in results if s == "amounts" and r["stage"] == "初步接洽")
    assert first["count"] == 2  # the colleague in 华北 and last year's deal are left out
    for _s, _row, response in results:
        for obj in response.context["page"].object_list:
            assert obj.owner_id == rep.pk
    # a department filter narrows the drill like the report
    results = drilled(client, "funnel", {"period": "this_year", "department": world["north"].pk})
    assert all(r.context["page"].paginator.count == 0 for _s, _row, r in results)
    for _section, row, response in drilled(client, "customer-profile"):
        assert response.context["page"].paginator.count == row["customers"]
        assert all(c.owner_id == rep.pk for c in response.context["page"].object_list)


def test_drill_refusals(client, world):
    url = reverse("reports:builtin-drill", args=["funnel"])
    stage_id = Stage.objects.filter(is_lost=False).first().pk
    assert client.get(url, {"section": "stages", "k": stage_id}).status_code == 302  # login
    client.force_login(UserFactory())
    assert client.get(url, {"section": "stages", "k": stage_id}).status_code == 403
    client.force_login(UserFactory(is_superuser=True))
    for query in (
        {"section": "nope", "k": stage_id},
        {"section": "stages", "k": "x"},
        {"section": "stages", "k": "999999"},
        {"section": "stages", "k": stage_id, "date_from": "bad"},
    ):
        assert client.get(url, query).status_code == 404, query
    other = reverse("reports:builtin-drill", args=["ticket-sla"])
    assert client.get(other, {"section": "months", "k": "1"}).status_code == 404
