"""The demo seeder: DESIGN §6 templates, requests in every state, idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.approvals.chain import preview
from apps.approvals.demo import seed_approvals
from apps.approvals.models import ApprovalRequest, ApprovalTemplate
from apps.org.demo import DemoContext, seed_org

pytestmark = pytest.mark.django_db


def seed() -> DemoContext:
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_approvals(ctx)
    return ctx


def approvers(template_code, ctx, amount="0", initiator="sales1", **data):
    template = ApprovalTemplate.objects.get(code=template_code)
    rows = preview(template, amount=Decimal(amount), initiator=ctx.users[initiator], data=data)
    return [[u.username for u in r["approvers"]] for r in rows if r["applies"]]


def test_templates_follow_design_section_6():
    ctx = seed()
    assert set(ApprovalTemplate.objects.values_list("code", flat=True)) == {
        "contract",
        "expense",
        "leave",
        "purchase",
        "discount",
    }
    assert approvers("contract", ctx, "499999") == [["sales_director"]]
    assert approvers("contract", ctx, "500000") == [["sales_director"], ["ceo"]]
    assert approvers("expense", ctx, "100000") == [["sales_director"], ["finance"]]
    assert approvers("expense", ctx, "100000.01") == [["sales_director"], ["finance"], ["ceo"]]
    assert approvers("leave", ctx, days="3") == [["sales_director"]]
    assert approvers("leave", ctx, days="3.5") == [["sales_director"], ["ceo"]]
    assert [sorted(a) for a in approvers("purchase", ctx)] == [["ceo", "finance"]]
    assert ApprovalTemplate.objects.get(code="purchase").steps.get().mode == "countersign"
    assert approvers("discount", ctx, discount="15") == []
    assert approvers("discount", ctx, discount="15.5") == [["sales_director"]]


def test_requests_in_every_state_and_idempotent():
    seed()
    statuses = set(ApprovalRequest.objects.values_list("status", flat=True))
    assert statuses == set(ApprovalRequest.Status.values)
    count = ApprovalRequest.objects.count()
    seed()
    assert ApprovalRequest.objects.count() == count
    assert ApprovalTemplate.objects.count() == 5


def test_everyone_may_start_and_sees_own_requests():
    ctx = seed()
    sales2 = ctx.users["sales2"]
    assert sales2.has_perm("approvals.add_approvalrequest")
    own = set(ApprovalRequest.objects.filter(initiator=sales2).values_list("pk", flat=True))
    visible = set(ApprovalRequest.objects.visible_to(sales2).values_list("pk", flat=True))
    assert own and own <= visible
    ceo_sees = ApprovalRequest.objects.visible_to(ctx.users["ceo"]).count()
    assert ceo_sees == ApprovalRequest.objects.count()
