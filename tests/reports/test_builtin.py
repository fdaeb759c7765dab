"""Built-in reports against hand-computed fixtures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals.models import ApprovalAction, ApprovalRequest
from apps.customers.models import Customer, FollowUp, Ticket
from apps.org.models import FieldPolicy
from apps.reports.builtin import get_builtin
from apps.reports.builtin.money import unpaid_items
from apps.reports.models import SalesTarget
from apps.reports.params import ReportParams
from apps.sales.models import Contract, Opportunity, Stage, StageChange
from tests.approvals.factories import TemplateFactory
from tests.customers.factories import CustomerFactory, FollowUpFactory, TicketFactory
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.sales.factories import (
    CampaignFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
    PaymentFactory,
    PaymentPlanFactory,
    PipelineFactory,
)

pytestmark = pytest.mark.django_db

YEAR = ReportParams(start=dt.date(2000, 1, 1), end=dt.date(2100, 1, 1))


def run(key, user, params=YEAR):
    return get_builtin(key).result(user, params)


def rows(result, section=0):
    return result.sections[section].rows


@pytest.fixture
def admin():
    return UserFactory(username="boss", is_superuser=True, is_staff=True)


@pytest.fixture
def pipeline():
    return PipelineFactory(name="直销", is_default=True, with_stages=True)


def stage(pipeline, name):
    return Stage.objects.get(pipeline=pipeline, name=name)


def test_funnel_counts_amounts_reached_and_conversion(admin, pipeline):
    rep = UserFactory()
    # Now at: 初步接洽 ×2 (100k, 50k), 方案报价 ×1 (200k), 赢单 ×1 (300k),
    # 输单 ×1 (80k, lost while at 需求确认).
    first, second, third = (stage(pipeline, n) for n in ("初步接洽", "需求确认", "方案报价"))
    won, lost = stage(pipeline, "赢单"), stage(pipeline, "输单")
    for amount in ("100000", "50000"):
        OpportunityFactory(owner=rep, stage=first, amount=Decimal(amount))
    OpportunityFactory(owner=rep, stage=third, amount=Decimal("200000"))
    OpportunityFactory(owner=rep, stage=won, amount=Decimal("300000"), status="won")
    gone = OpportunityFactory(
        owner=rep, stage=lost, lost_from_stage=second, amount=Decimal("80000"), status="lost"
    )
    StageChange.objects.create(opportunity=gone, from_stage=first, to_stage=second)
    StageChange.objects.create(opportunity=gone, from_stage=second, to_stage=lost)

    result = run("funnel", admin, ReportParams(start=YEAR.start, end=YEAR.end, pipeline=pipeline))
    by = {r["stage"]: r for r in rows(result)}
    assert by["初步接洽"]["count"] == 2 and by["初步接洽"]["amount"] == Decimal("150000.00")
    assert by["初步接洽"]["weighted"] == Decimal("15000.00")
    # reached: everyone got to stage 1; stage 2: 方案报价, 赢单 and the lost one (lost at 需求确认)
    assert [by[n]["reached"] for n in ("初步接洽", "需求确认", "方案报价", "谈判", "赢单")] == [
        5,
        3,
        2,
        1,
        1,
    ]
    assert by["初步接洽"]["conversion"] == Decimal("60.00")
    assert by["方案报价"]["conversion"] == Decimal("50.00")
    assert by["赢单"]["conversion"] is None
    assert by["输单"]["count"] == 1 and by["输单"]["reached"] is None
    assert result.sections[0].totals["amount"] == Decimal("730000.00")
    data = result.as_json()["sections"][0]
    assert data["categories"][:5] == ["初步接洽", "需求确认", "方案报价", "谈判", "赢单"]
    assert data["series"][0]["data"][:5] == [5, 3, 2, 1, 1]


def test_funnel_is_scoped_to_what_the_user_sees(pipeline):
    sales = DepartmentFactory(name="销售部")
    rep = UserFactory(department=sales)
    other = UserFactory(department=sales)
    make_role("rep", Opportunity, scope="own", members=[rep])
    OpportunityFactory(owner=rep, stage=stage(pipeline, "初步接洽"))
    OpportunityFactory(owner=other, stage=stage(pipeline, "初步接洽"))
    result = run("funnel", rep, ReportParams(start=YEAR.start, end=YEAR.end, pipeline=pipeline))
    assert rows(result)[0]["count"] == 1


def test_funnel_hides_amounts_under_field_security(pipeline):
    rep = UserFactory()
    make_role("rep", Opportunity, scope="all", members=[rep])
    FieldPolicy.objects.create(
        content_type_id=__import__("django.contrib.contenttypes.models", fromlist=["ContentType"])
        .ContentType.objects.get_for_model(Opportunity)
        .pk,
        field_name="amount",
    )
    OpportunityFactory(owner=rep, stage=stage(pipeline, "初步接洽"))
    result = run("funnel", rep, ReportParams(start=YEAR.start, end=YEAR.end, pipeline=pipeline))
    keys = [c.key for c in result.sections[0].columns]
    assert "amount" not in keys and "weighted" not in keys and "count" in keys
    assert "amount" not in result.as_json()["sections"][0]["rows"][0]
    assert result.notes


def test_leaderboard_numbers_and_target(admin, pipeline):
    rep = UserFactory(username="rep1")
    now = timezone.now()
    OpportunityFactory(
        owner=rep,
        stage=stage(pipeline, "赢单"),
        status="won",
        amount=Decimal("120000"),
        closed_at=now,
    )
    contract = ContractFactory(
        owner=rep,
        amount=Decimal("200000"),
        status=Contract.Status.SIGNED,
        signed_date=timezone.localdate(),
    )
    ContractFactory(owner=rep, amount=Decimal("999999"), status=Contract.Status.DRAFT)
    PaymentFactory(contract=contract, amount=Decimal("50000"), received_at=timezone.localdate())
    FollowUpFactory(customer=contract.customer, owner=rep)
    FollowUpFactory(customer=contract.customer, owner=rep)
    month = timezone.localdate().replace(day=1)
    SalesTarget.objects.create(user=rep, month=month, amount=Decimal("400000"))
    params = ReportParams(start=month, end=(month + dt.timedelta(days=32)).replace(day=1))
    row = next(r for r in rows(run("leaderboard", admin, params)) if r["person_id"] == rep.pk)
    assert row["won_count"] == 1 and row["won_amount"] == Decimal("120000.00")
    assert row["contracts"] == 1 and row["contract_amount"] == Decimal("200000.00")
    assert row["payments"] == Decimal("50000.00")
    # the customers created by the factories for rep's deal and contracts, this month
    assert row["new_customers"] == Customer.objects.filter(owner=rep).count()
    assert row["follow_ups"] == 2
    assert row["target"] == Decimal("400000.00") and row["achievement"] == Decimal("50.00")


def test_unpaid_items_rule():
    contract = Contract(
        amount=Decimal("100"), received_amount=Decimal("30"), signed_date=dt.date(2024, 1, 1)
    )
    plans = [
        type(
            "P", (), {"due_date": dt.date(2024, 2, 1), "amount": Decimal("20"), "seq": 1, "pk": 1}
        ),
        type(
            "P", (), {"due_date": dt.date(2024, 3, 1), "amount": Decimal("50"), "seq": 2, "pk": 2}
        ),
    ]
    # 30 pays the first instalment (20) and 10 of the second; 30 is not planned at all
    assert unpaid_items(contract, plans) == [
        (dt.date(2024, 3, 1), Decimal("40")),
        (dt.date(2024, 1, 1), Decimal("30")),
    ]
    assert unpaid_items(contract, []) == [(dt.date(2024, 1, 1), Decimal("70"))]


def test_receivables_aging_buckets(admin):
    today = dt.date(2025, 6, 30)
    c1 = ContractFactory(
        amount=Decimal("100000"),
        status=Contract.Status.SIGNED,
        signed_date=dt.date(2025, 1, 1),
        received_amount=Decimal("10000"),
    )
    PaymentPlanFactory(contract=c1, due_date=dt.date(2025, 6, 20), amount=Decimal("40000"))  # 10d
    PaymentPlanFactory(
        contract=c1, due_date=dt.date(2025, 8, 1), amount=Decimal("60000")
    )  # not due
    ContractFactory(  # no plans: ages from signed_date, 100 days
        amount=Decimal("5000"),
        status=Contract.Status.EXECUTING,
        signed_date=today - dt.timedelta(days=100),
    )
    ContractFactory(amount=Decimal("7000"), status=Contract.Status.DRAFT)  # not active
    result = run("receivables-aging", admin, ReportParams(as_of=today))
    by = {r["bucket"]: r for r in rows(result)}
    assert by["Not yet due"]["amount"] == Decimal("60000.00")
    assert by["0–30 days"]["amount"] == Decimal("30000.00")
    assert by["91–180 days"]["amount"] == Decimal("5000.00")
    assert result.sections[0].totals["amount"] == Decimal("95000.00")
    people = rows(result, 1)
    assert sum(r["total"] for r in people) == Decimal("95000.00")


def test_payment_forecast(admin):
    c = ContractFactory(amount=Decimal("100000"), status=Contract.Status.SIGNED)
    PaymentPlanFactory(contract=c, due_date=dt.date(2025, 1, 15), amount=Decimal("30000"))
    PaymentPlanFactory(contract=c, due_date=dt.date(2025, 1, 20), amount=Decimal("20000"))
    PaymentPlanFactory(contract=c, due_date=dt.date(2025, 3, 1), amount=Decimal("50000"))
    draft = ContractFactory(amount=Decimal("100000"))
    PaymentPlanFactory(contract=draft, due_date=dt.date(2025, 1, 1), amount=Decimal("1"))
    PaymentFactory(contract=c, amount=Decimal("45000"), received_at=dt.date(2025, 1, 25))
    result = run(
        "payment-forecast", admin, ReportParams(start=dt.date(2025, 1, 1), end=dt.date(2025, 4, 1))
    )
    by = {r["month"]: r for r in rows(result)}
    assert list(by) == ["2025-01", "2025-02", "2025-03"]
    assert by["2025-01"]["due"] == Decimal("50000.00") and by["2025-01"]["instalments"] == 2
    assert by["2025-01"]["received"] == Decimal("45000.00")
    assert by["2025-01"]["gap"] == Decimal("-5000.00")
    assert by["2025-02"]["due"] == Decimal("0.00")
    assert by["2025-03"]["cumulative_due"] == Decimal("100000.00")


def test_customer_profile(admin):
    CustomerFactory(source="referral", province="上海", industry="it", level="A")
    CustomerFactory(source="referral", province="江苏", industry="it", level="B")
    CustomerFactory(source="website", province="上海", industry="", level="B")
    result = run("customer-profile", admin, ReportParams())
    sections = {s.key: s for s in result.sections}
    source = {r["code"]: r["customers"] for r in sections["source"].rows}
    assert source == {"referral": 2, "website": 1}
    assert sections["province"].rows[0] == {
        "value": "上海",
        "code": "上海",
        "customers": 2,
        "share": Decimal("66.67"),
    }
    assert {r["code"]: r["customers"] for r in sections["level"].rows} == {"A": 1, "B": 2}


def test_customer_profile_drops_a_hidden_dimension():
    from django.contrib.contenttypes.models import ContentType

    user = UserFactory()
    make_role("viewer", Customer, scope="all", members=[user])
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer), field_name="industry"
    )
    CustomerFactory(industry="it")
    result = run("customer-profile", user, ReportParams())
    assert "industry" not in [s.key for s in result.sections]


def test_ticket_sla(admin):
    now = timezone.now()
    TicketFactory(sla_due_at=now - dt.timedelta(hours=1))  # open, past due: breached
    TicketFactory(  # resolved in time, rated 4
        sla_due_at=now + dt.timedelta(hours=5), resolved_at=now, status="resolved", satisfaction=4
    )
    TicketFactory(  # resolved late, rated 2
        sla_due_at=now - dt.timedelta(hours=5), resolved_at=now, status="resolved", satisfaction=2
    )
    TicketFactory(sla_due_at=None)
    result = run("ticket-sla", admin)
    (month,) = rows(result)
    assert month["opened"] == 4 and month["resolved"] == 2 and month["breached"] == 2
    assert month["breach_rate"] == Decimal("50.00")
    assert month["satisfaction"] == 3 and month["rated"] == 2


def test_approval_cycle_by_template_and_step(admin):
    template = TemplateFactory(name="费用报销")
    start = timezone.now() - dt.timedelta(days=2)
    req = ApprovalRequest.objects.create(
        template=template,
        title="t",
        initiator=admin,
        status="approved",
        submitted_at=start,
        decided_at=start + dt.timedelta(hours=10),
    )
    for kind, step, name, hours in [
        ("submit", None, "", 0),
        ("approve", 0, "经理", 2),
        ("approve", 1, "财务", 10),
    ]:
        ApprovalAction.objects.create(
            request=req,
            kind=kind,
            step_index=step,
            step_name=name,
            created_at=start + dt.timedelta(hours=hours),
        )
    result = run("approval-cycle", admin)
    (template_row,) = rows(result)
    assert template_row["requests"] == 1 and template_row["avg_hours"] == Decimal("10.00")
    steps = {r["step"]: r for r in rows(result, 1)}
    assert steps["经理"]["avg_hours"] == Decimal("2.00")
    assert steps["财务"]["avg_hours"] == Decimal("8.00")


def test_team_activity(admin, pipeline):
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)
    FollowUpFactory(customer=customer, owner=rep, kind=FollowUp.Kind.VISIT)
    FollowUpFactory(customer=customer, owner=rep, kind=FollowUp.Kind.CALL)
    OpportunityFactory(owner=rep, stage=stage(pipeline, "初步接洽"), customer=customer)
    TicketFactory(customer=customer, assignee=rep, resolved_at=timezone.now(), status="resolved")
    row = next(r for r in rows(run("team-activity", admin)) if r["person_id"] == rep.pk)
    assert row["follow_ups"] == 2 and row["fu_visit"] == 1 and row["deals"] == 1
    assert row["tickets"] == 1


def test_lead_sources_and_campaign_roi(admin, pipeline):
    campaign = CampaignFactory(cost=Decimal("10000"))
    LeadFactory(source="web_form", campaign=campaign, status="converted")
    LeadFactory(source="web_form", campaign=campaign)
    LeadFactory(source="exhibition")
    OpportunityFactory(
        campaign=campaign, status="won", stage=stage(pipeline, "赢单"), amount=Decimal("30000")
    )
    result = run("lead-sources", admin)
    sources = {r["source"]: r for r in rows(result)}
    assert sources["Web form"]["leads"] == 2 and sources["Web form"]["rate"] == Decimal("50.00")
    (row,) = [r for r in rows(result, 1) if r["campaign"] == campaign.name]
    assert row["leads"] == 2 and row["converted"] == 1 and row["won_amount"] == Decimal("30000.00")
    assert row["roi"] == Decimal("200.00")


def test_ticket_is_used():
    assert Ticket and Opportunity  # imported models are part of the fixtures above
