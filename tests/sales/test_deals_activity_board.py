"""Deals gaps of issue #5: a follow-up logged against a deal refreshes its last activity (and
so its stalled state on the board), and the board leaves out its totals above
BOARD_TOTALS_CAP deals while keeping a constant query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import apps.sales.selectors.deals as sel
from apps.customers.services.contacts import follow_up_log
from apps.sales.models import Opportunity
from tests.org.factories import UserFactory
from tests.sales.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def stale_deal(deals_org, days=60):
    opp = OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("需求确认"), name="旧商机")
    past = timezone.now() - dt.timedelta(days=days)
    Opportunity.objects.filter(pk=opp.pk).update(last_activity_at=past, stage_changed_at=past)
    return Opportunity.objects.get(pk=opp.pk)


def test_follow_up_on_a_deal_refreshes_last_activity(
    client, deals_org, django_capture_on_commit_callbacks
):
    opp = stale_deal(deals_org)
    client.force_login(deals_org.rep)
    assert (
        'data-stalled="no_activity"' in client.get("/sales/opportunities/board/").content.decode()
    )
    admin = UserFactory(is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up = follow_up_log(
            customer=opp.customer,
            by=admin,
            data={"kind": "call", "content": "谈了价格", "opportunity_id": opp.pk},
        )
    opp.refresh_from_db()
    assert opp.last_activity_at == follow_up.occurred_at
    html = client.get("/sales/opportunities/board/").content.decode()
    assert 'data-stalled="no_activity"' not in html
    assert 'data-stalled="no_stage_change"' in html  # it still never moved


def test_an_older_follow_up_never_moves_activity_back_and_others_are_ignored(
    deals_org, django_capture_on_commit_callbacks
):
    opp = stale_deal(deals_org, days=3)
    before = opp.last_activity_at
    admin = UserFactory(is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up_log(
            customer=opp.customer,
            by=admin,
            data={
                "kind": "call",
                "content": "补录",
                "opportunity_id": opp.pk,
                "occurred_at": timezone.now() - dt.timedelta(days=10),
            },
        )
        follow_up_log(customer=opp.customer, by=admin, data={"kind": "call", "content": "无关"})
    opp.refresh_from_db()
    assert opp.last_activity_at == before


def _board_queries(client, url="/sales/opportunities/board/"):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200
    return len(ctx.captured_queries), res.content.decode()


def test_board_totals_are_capped_with_a_note(client, deals_org, monkeypatch):
    stage = deals_org.stage("初步接洽")
    for i in range(4):
        OpportunityFactory(owner=deals_org.rep, stage=stage, name=f"deal-{i}")
    client.force_login(deals_org.rep)
    full, html = _board_queries(client)
    assert 'data-count="4"' in html and "totals are left out" not in html
    monkeypatch.setattr(sel, "BOARD_TOTALS_CAP", 3)
    capped, html = _board_queries(client)
    assert "totals are left out" in html and 'data-count="4"' not in html
    assert html.count("weft-deal-card") >= 4  # the cards are still there
    assert capped == full - 1  # the GROUP BY is skipped, nothing else changes
    for i in range(6):
        OpportunityFactory(owner=deals_org.rep, stage=stage, name=f"more-{i}")
    assert _board_queries(client)[0] == capped
