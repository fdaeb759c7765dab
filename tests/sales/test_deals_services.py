"""Deals services: opportunities and stage moves with their history, the weighted forecast,
quotes (totals, discount approval), quote → contract, numbering, the stalled-deal job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest
from apps.approvals.selectors import pending_tasks_for
from apps.notify.models import Notification
from apps.org.errors import ServiceError
from apps.sales.models import (
    Contract,
    ContractEvent,
    Opportunity,
    OpportunityEvent,
    Quote,
    QuoteEvent,
    SalesSettings,
    StageChange,
)
from apps.sales.numbering import next_number, save_numbered
from apps.sales.selectors import deals as selectors
from apps.sales.services import deals as services
from tests.customers.factories import CustomerFactory
from tests.sales.deals_fixtures import fresh, money
from tests.sales.factories import (
    OpportunityFactory,
    PipelineFactory,
    ProductFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(deals_org):
    customer = CustomerFactory(owner=deals_org.rep)
    return services.opportunity_create(
        by=deals_org.rep,
        data={"name": "CRM 项目", "customer": customer, "amount": Decimal("200000")},
    )


# --- create and move ---------------------------------------------------------------------------


def test_create_starts_in_first_open_stage_of_default_pipeline_with_history(deals_org, deal):
    assert deal.pipeline == deals_org.pipeline
    assert deal.stage.name == "初步接洽"
    assert deal.probability == 10
    assert deal.status == Opportunity.Status.OPEN
    assert deal.owner == deals_org.rep and deal.department == deals_org.east
    change = StageChange.objects.get(opportunity=deal)
    assert change.from_stage is None and change.to_stage == deal.stage
    assert list(deal.events.values_list("kind", flat=True)) == ["created"]


def test_create_for_an_invisible_customer_is_refused(deals_org):
    other = CustomerFactory(owner=deals_org.rep_north)
    with pytest.raises(ServiceError) as exc:
        services.opportunity_create(
            by=deals_org.rep, data={"name": "x", "customer": other, "amount": 1}
        )
    assert exc.value.field == "customer"
    assert not Opportunity.objects.exists()


def test_create_for_someone_else_needs_assign_permission(deals_org):
    customer = CustomerFactory(owner=deals_org.rep)
    with pytest.raises(PermissionDenied):
        services.opportunity_create(
            by=deals_org.rep,
            data={"name": "x", "customer": customer, "amount": 1},
            owner=deals_org.rep_peer,
        )


def test_move_follows_stage_probability_and_keeps_dated_history(deals_org, deal):
    stage = deals_org.stage("方案报价")
    moved = services.opportunity_move(opportunity=deal, stage=stage, by=deals_org.rep)
    assert moved.stage == stage and moved.probability == 60
    assert moved.status == Opportunity.Status.OPEN and moved.closed_at is None
    changes = list(StageChange.objects.filter(opportunity=deal).order_by("at", "id"))
    assert [c.to_stage.name for c in changes] == ["初步接洽", "方案报价"]
    assert changes[1].from_stage.name == "初步接洽" and changes[1].actor == deals_org.rep
    assert changes[1].at >= changes[0].at
    event = deal.events.get(kind=OpportunityEvent.Kind.MOVED)
    assert event.payload["from"] == changes[0].to_stage_id and event.payload["to"] == stage.pk


def test_won_stage_closes_the_deal(deals_org, deal):
    won = services.opportunity_move(
        opportunity=deal, stage=deals_org.stage("赢单"), by=deals_org.rep
    )
    assert won.status == Opportunity.Status.WON and won.probability == 100
    assert won.closed_at is not None
    assert deal.events.filter(kind="won").exists()


def test_lost_stage_needs_a_reason_and_keeps_it(deals_org, deal):
    lost = deals_org.stage("输单")
    with pytest.raises(ServiceError) as exc:
        services.opportunity_move(opportunity=deal, stage=lost, by=deals_org.rep)
    assert exc.value.field == "reason"
    deal.refresh_from_db()
    assert deal.status == "open" and StageChange.objects.filter(opportunity=deal).count() == 1
    moved = services.opportunity_move(
        opportunity=deal, stage=lost, by=deals_org.rep, reason="价格高于竞品"
    )
    assert moved.status == Opportunity.Status.LOST and moved.lost_reason == "价格高于竞品"
    assert moved.probability == 0 and moved.closed_at is not None
    assert StageChange.objects.filter(opportunity=deal, reason="价格高于竞品").exists()
    # the funnel reads the open stage it was lost at from the deal itself
    assert moved.lost_from_stage == deal.stage


def test_moving_a_closed_deal_back_reopens_it(deals_org, deal):
    services.opportunity_move(
        opportunity=deal, stage=deals_org.stage("输单"), by=deals_org.rep, reason="预算取消"
    )
    again = services.opportunity_move(
        opportunity=deal, stage=deals_org.stage("谈判"), by=deals_org.rep
    )
    assert again.status == "open" and again.closed_at is None and again.lost_reason == ""
    assert again.lost_from_stage is None
    assert deal.events.filter(kind="reopened").exists()


def test_lost_to_lost_keeps_the_open_stage_it_was_lost_at(deals_org, deal):
    other_lost = StageFactory(pipeline=deal.pipeline, name="作废", order=99, is_lost=True)
    at = deal.stage
    services.opportunity_move(
        opportunity=deal, stage=deals_org.stage("输单"), by=deals_org.rep, reason="预算取消"
    )
    moved = services.opportunity_move(
        opportunity=deal, stage=other_lost, by=deals_org.rep, reason="重复录入"
    )
    assert moved.lost_from_stage == at


def test_stage_of_another_pipeline_is_refused(deals_org, deal):
    other = PipelineFactory(name="渠道", with_stages=True)
    with pytest.raises(ServiceError) as exc:
        services.opportunity_move(opportunity=deal, stage=other.stages.first(), by=deals_org.rep)
    assert exc.value.field == "stage"


def test_peer_and_nobody_may_not_move_but_the_director_may(deals_org, deal):
    stage = deals_org.stage("需求确认")
    for user in (deals_org.rep_peer, deals_org.nobody, deals_org.ceo):
        with pytest.raises(PermissionDenied):
            services.opportunity_move(opportunity=deal, stage=stage, by=fresh(user))
    moved = services.opportunity_move(opportunity=deal, stage=stage, by=fresh(deals_org.director))
    assert moved.stage == stage


def test_update_records_changes_and_refuses_stage(deals_org, deal):
    services.opportunity_update(
        opportunity=deal, by=deals_org.rep, data={"amount": Decimal("250000")}
    )
    event = deal.events.get(kind="updated")
    assert (
        event.payload["changes"]["amount"] == ["200000.00", "250000"]
        or "amount" in event.payload["changes"]
    )
    with pytest.raises(ServiceError):
        services.opportunity_update(
            opportunity=deal, by=deals_org.rep, data={"stage": deals_org.stage("谈判")}
        )


# --- forecast -------------------------------------------------------------------------------


def test_forecast_sums_weighted_amounts_by_month_owner_and_department(deals_org):
    today = timezone.localdate().replace(day=10)
    next_month = (today.replace(day=1) + dt.timedelta(days=40)).replace(day=10)
    s60, s30 = deals_org.stage("方案报价"), deals_org.stage("需求确认")
    OpportunityFactory(
        owner=deals_org.rep, stage=s60, amount=Decimal("100000"), expected_close_date=today
    )
    OpportunityFactory(
        owner=deals_org.rep, stage=s30, amount=Decimal("50000"), expected_close_date=today
    )
    OpportunityFactory(
        owner=deals_org.rep_north,
        stage=s60,
        amount=Decimal("10000"),
        expected_close_date=next_month,
    )
    # Left out: won, no close date, and a month outside the range.
    OpportunityFactory(
        owner=deals_org.rep,
        stage=deals_org.stage("赢单"),
        status="won",
        amount=Decimal("999"),
        expected_close_date=today,
    )
    OpportunityFactory(
        owner=deals_org.rep, stage=s60, amount=Decimal("999"), expected_close_date=None
    )
    OpportunityFactory(
        owner=deals_org.rep,
        stage=s60,
        amount=Decimal("999"),
        expected_close_date=today - dt.timedelta(days=400),
    )

    data = selectors.forecast(user=fresh(deals_org.director), months=3)
    by_owner = {r.key: r for r in data.rows}
    rep = by_owner[deals_org.rep.pk]
    assert rep.cells[0] == (money(150000), money(60000 + 15000), 2)
    assert rep.weighted == money(75000) and rep.count == 2
    assert by_owner[deals_org.rep_north.pk].cells[1] == (money(10000), money(6000), 1)
    assert data.totals[0] == (money(150000), money(75000), 2)
    assert data.weighted == money(81000) and data.amount == money(160000)

    by_dept = selectors.forecast(user=fresh(deals_org.director), months=3, by="department")
    assert {r.label: r.weighted for r in by_dept.rows} == {
        "华东组": money(75000),
        "华北组": money(6000),
    }

    # Scope: a rep sees only their own deals.
    mine = selectors.forecast(user=fresh(deals_org.rep), months=3)
    assert [r.key for r in mine.rows] == [deals_org.rep.pk] and mine.weighted == money(75000)


# --- quotes ---------------------------------------------------------------------------------


def _quote(org, deal, *lines):
    return services.quote_create(by=org.rep, data={"opportunity": deal}, lines=list(lines))


def test_quote_totals_discounts_and_number(deals_org, deal):
    p1 = ProductFactory(price=Decimal("1000.00"))
    p2 = ProductFactory(price=Decimal("250.50"))
    quote = _quote(
        deals_org,
        deal,
        {"product": p1.pk, "quantity": 3, "discount": 10},
        {"product": p2.pk, "quantity": "2", "unit_price": "200", "discount": "0"},
        {"description": "上门服务", "quantity": 1, "unit_price": "99.99"},
    )
    assert quote.customer == deal.customer and quote.opportunity == deal
    assert quote.subtotal == money(3000 + 400 + 99.99)
    assert quote.total == money(2700 + 400 + 99.99)
    assert quote.discount_amount == money(300)
    assert quote.max_discount == Decimal("10.00")
    assert [li.amount for li in quote.lines.order_by("order")] == [
        money(2700),
        money(400),
        money("99.99"),
    ]
    year = timezone.localdate().year
    assert quote.number == f"BJ-{year}-000001"
    assert quote.events.filter(kind="created").exists()
    second = _quote(deals_org, deal, {"product": p1.pk})
    assert second.number == f"BJ-{year}-000002"


def test_quote_bad_lines_are_refused(deals_org, deal):
    for lines in (
        [],
        [{"quantity": 1}],
        [{"description": "x", "unit_price": "abc"}],
        [{"description": "x", "unit_price": 1, "discount": 101}],
    ):
        with pytest.raises(ServiceError):
            _quote(deals_org, deal, *lines)
    assert not Quote.objects.exists()


def test_submit_below_threshold_approves_at_once(deals_org, deal, discount_template):
    quote = _quote(deals_org, deal, {"product": ProductFactory().pk, "discount": 15})
    quote = services.quote_submit(quote=quote, by=deals_org.rep)
    assert quote.status == Quote.Status.APPROVED and quote.approval is None
    assert not ApprovalRequest.objects.exists()
    assert quote.events.get(kind="approved").payload["automatic"] is True


def test_submit_above_threshold_starts_discount_approval_and_outcome_moves_quote(
    deals_org, deal, discount_template
):
    quote = _quote(deals_org, deal, {"product": ProductFactory().pk, "discount": "20"})
    quote = services.quote_submit(quote=quote, by=deals_org.rep)
    assert quote.status == Quote.Status.PENDING
    request = quote.approval
    assert request.template.code == "discount" and request.subject_id == quote.pk
    assert Decimal(request.data["discount"]) == Decimal("20")
    task = pending_tasks_for(deals_org.director).get()
    approvals.approval_task_approve(task=task, by=deals_org.director, comment="同意")
    quote.refresh_from_db()
    assert quote.status == Quote.Status.APPROVED
    assert quote.events.filter(kind=QuoteEvent.Kind.APPROVED).exists()


def test_rejected_discount_then_edit_returns_to_draft(deals_org, deal, discount_template):
    quote = _quote(deals_org, deal, {"product": ProductFactory().pk, "discount": "30"})
    quote = services.quote_submit(quote=quote, by=deals_org.rep)
    task = pending_tasks_for(deals_org.director).get()
    approvals.approval_task_reject(task=task, by=deals_org.director, comment="折扣过大")
    quote.refresh_from_db()
    assert quote.status == Quote.Status.REJECTED
    quote = services.quote_update(
        quote=quote,
        by=deals_org.rep,
        data={},
        lines=[{"product": ProductFactory().pk, "discount": 5}],
    )
    assert quote.status == Quote.Status.DRAFT and quote.max_discount == Decimal("5.00")
    assert services.quote_submit(quote=quote, by=deals_org.rep).status == Quote.Status.APPROVED


def test_threshold_comes_from_sales_settings(deals_org, deal, discount_template):
    settings = SalesSettings.load()
    settings.discount_approval_threshold = Decimal("25")
    settings.save()
    quote = _quote(deals_org, deal, {"product": ProductFactory().pk, "discount": "20"})
    assert services.quote_submit(quote=quote, by=deals_org.rep).status == Quote.Status.APPROVED


def test_accepted_quote_becomes_a_draft_contract_once(deals_org, deal, discount_template):
    from django.contrib.auth.models import Permission

    deals_org.rep.user_permissions.add(Permission.objects.get(codename="add_contract"))
    rep = fresh(deals_org.rep)
    quote = _quote(
        deals_org, deal, {"product": ProductFactory(price=Decimal("5000")).pk, "quantity": 2}
    )
    with pytest.raises(ServiceError):
        services.quote_to_contract(quote=quote, by=rep)
    quote = services.quote_submit(quote=quote, by=rep)
    quote = services.quote_send(quote=quote, by=rep)
    quote = services.quote_accept(quote=quote, by=rep)
    contract = services.quote_to_contract(quote=quote, by=rep)
    assert contract.status == Contract.Status.DRAFT
    assert contract.number == f"HT-{timezone.localdate().year}-000001"
    assert contract.amount == quote.total == money(10000)
    assert contract.customer == deal.customer and contract.opportunity == deal
    assert contract.quote == quote and contract.owner == deals_org.rep
    event = ContractEvent.objects.get(contract=contract)
    assert event.kind == "created" and event.payload["quote"] == quote.pk
    assert quote.events.filter(kind="contracted").exists()
    with pytest.raises(ServiceError):
        services.quote_to_contract(quote=quote, by=rep)
    assert Contract.objects.count() == 1


def test_quote_to_contract_needs_contract_permission(deals_org, deal):
    quote = _quote(deals_org, deal, {"product": ProductFactory().pk})
    Quote.objects.filter(pk=quote.pk).update(status=Quote.Status.ACCEPTED)
    with pytest.raises(PermissionDenied):
        services.quote_to_contract(quote=quote, by=deals_org.rep)


# --- numbering -------------------------------------------------------------------------------


def test_numbering_retries_when_a_concurrent_writer_took_the_number(deals_org, deal, monkeypatch):
    year = timezone.localdate().year
    first = _quote(deals_org, deal, {"product": ProductFactory().pk})
    assert first.number == f"BJ-{year}-000001"
    import apps.sales.numbering as numbering

    calls = []
    real = numbering.next_number

    def stale(model, prefix, **kw):  # the first read misses the row another writer inserted
        calls.append(1)
        return f"BJ-{year}-000001" if len(calls) == 1 else real(model, prefix, **kw)

    monkeypatch.setattr(numbering, "next_number", stale)
    second = _quote(deals_org, deal, {"product": ProductFactory().pk})
    assert second.number == f"BJ-{year}-000002" and len(calls) == 2
    assert next_number(Quote, "BJ") == f"BJ-{year}-000003"
    assert save_numbered is numbering.save_numbered


# --- stalled deals ---------------------------------------------------------------------------


def test_stalled_job_warns_owner_once_and_a_move_clears_it(deals_org, deal):
    settings = SalesSettings.load()
    settings.stalled_days_default = 10
    settings.save()
    fresh_deal = OpportunityFactory(owner=deals_org.rep, stage=deal.stage)
    old = timezone.now() - dt.timedelta(days=11)
    Opportunity.objects.filter(pk=deal.pk).update(stage_changed_at=old, last_activity_at=old)
    assert services.opportunities_flag_stalled() == 1
    deal.refresh_from_db()
    assert deal.stalled_warned_at is not None
    assert deal.events.get(kind="stalled").payload == {"days": 10, "reason": "no_activity"}
    note = Notification.objects.get(recipient=deals_org.rep, verb="sales.opportunity_stalled")
    assert deal.name in note.message
    fresh_deal.refresh_from_db()
    assert fresh_deal.stalled_warned_at is None
    assert services.opportunities_flag_stalled() == 0  # once per stall
    assert list(selectors.stalled_for(deals_org.rep)) == [deal]
    services.opportunity_move(opportunity=deal, stage=deals_org.stage("谈判"), by=deals_org.rep)
    deal.refresh_from_db()
    assert deal.stalled_warned_at is None


def test_stage_days_override_and_stage_unchanged_reason(deals_org, deal):
    stage = deal.stage
    stage.stalled_days = 3
    stage.save()
    Opportunity.objects.filter(pk=deal.pk).update(
        stage_changed_at=timezone.now() - dt.timedelta(days=4)
    )
    assert services.opportunities_flag_stalled() == 1
    assert deal.events.get(kind="stalled").payload["reason"] == "no_stage_change"


def test_migration_backfills_the_stage_a_deal_was_lost_at(deals_org, deal):
    from importlib import import_module

    from django.apps import apps

    at = deal.stage
    services.opportunity_move(
        opportunity=deal, stage=deals_org.stage("输单"), by=deals_org.rep, reason="预算取消"
    )
    Opportunity.objects.filter(pk=deal.pk).update(lost_from_stage=None)  # as before 0006
    import_module("apps.sales.migrations.0006_opportunity_lost_from_stage").backfill(apps, None)
    deal.refresh_from_db()
    assert deal.lost_from_stage == at
