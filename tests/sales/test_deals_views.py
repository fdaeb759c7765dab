"""Deals pages: every list, detail and board page in a constant number of queries (more rows
must not mean more queries), scope (404), the htmx move of the board, forms."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.sales.models import Opportunity, Quote
from apps.sales.services import deals as services
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def count_queries(client, url, **extra) -> int:
    client.get(url, **extra)  # warm per-process caches (content types, field policies)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url, **extra)
    assert res.status_code == 200, (url, res.status_code)
    return len(ctx.captured_queries)


def _deals(org, n):
    stages = [org.stage(s) for s in ("初步接洽", "需求确认", "方案报价", "赢单")]
    made = []
    for i in range(n):
        opp = OpportunityFactory(
            owner=org.rep, stage=stages[i % len(stages)], amount=Decimal(1000 + i)
        )
        quote = services.quote_create(
            by=org.rep,
            data={"opportunity": opp},
            lines=[{"product": ProductFactory().pk, "quantity": 1}],
        )
        made.append((opp, quote))
    return made


def test_every_page_is_constant_in_queries(client, deals_org):
    client.force_login(deals_org.director)
    first = _deals(deals_org, 3)
    opp, quote = first[0]
    urls = [
        "/sales/opportunities/",
        "/sales/opportunities/board/",
        f"/sales/opportunities/{opp.pk}/",
        "/sales/forecast/",
        "/sales/products/",
        f"/sales/products/{quote.lines.first().product_id}/",
        "/sales/quotes/",
        f"/sales/quotes/{quote.pk}/",
        f"/sales/quotes/{quote.pk}/print/",
        f"/customers/{opp.customer_id}/",
    ]
    before = {url: count_queries(client, url) for url in urls}
    more = _deals(deals_org, 9)
    # The same objects get more history too: moves and quotes on the first deal.
    services.opportunity_move(opportunity=opp, stage=deals_org.stage("谈判"), by=deals_org.rep)
    services.quote_create(
        by=deals_org.rep,
        data={"opportunity": opp},
        lines=[{"product": p.pk} for p in [ProductFactory(), ProductFactory()]],
    )
    after = {url: count_queries(client, url) for url in urls}
    assert after == before
    assert len(more) == 9
    assert max(before.values()) < 40


def test_board_limits_columns_and_loads_more(client, deals_org, settings):
    import apps.sales.selectors.deals as sel

    stage = deals_org.stage("初步接洽")
    for i in range(sel.BOARD_COLUMN_SIZE + 3):
        OpportunityFactory(owner=deals_org.rep, stage=stage, name=f"deal-{i}")
    client.force_login(deals_org.rep)
    res = client.get("/sales/opportunities/board/")
    html = res.content.decode()
    assert html.count('class="card weft-deal-card') == sel.BOARD_COLUMN_SIZE
    assert "3 more" in html
    res = client.get(
        f"/sales/opportunities/board/stages/{stage.pk}/?offset={sel.BOARD_COLUMN_SIZE}", **HTMX
    )
    assert res.content.decode().count('class="card weft-deal-card') == 3


def test_board_shows_only_visible_deals_and_stalled_badge(client, deals_org):
    import datetime as dt

    from django.utils import timezone

    mine = OpportunityFactory(
        owner=deals_org.rep, stage=deals_org.stage("需求确认"), name="我的商机"
    )
    OpportunityFactory(
        owner=deals_org.rep_north, stage=deals_org.stage("需求确认"), name="别人的商机"
    )
    Opportunity.objects.filter(pk=mine.pk).update(
        stage_changed_at=timezone.now() - dt.timedelta(days=60)
    )
    client.force_login(deals_org.rep)
    html = client.get("/sales/opportunities/board/").content.decode()
    assert "我的商机" in html and "别人的商机" not in html
    assert 'data-stalled="no_stage_change"' in html


def test_htmx_move_answers_card_and_column_heads(client, deals_org):
    opp = OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("初步接洽"))
    client.force_login(deals_org.rep)
    target = deals_org.stage("谈判")
    res = client.post(f"/sales/opportunities/{opp.pk}/move/", {"stage": target.pk}, **HTMX)
    assert res.status_code == 200
    html = res.content.decode()
    assert f'id="deal-{opp.pk}"' in html and f'data-stage="{target.pk}"' in html
    assert f'id="stage-head-{target.pk}" hx-swap-oob="true"' in html
    opp.refresh_from_db()
    assert opp.stage == target and opp.probability == 80
    lost = deals_org.stage("输单")
    res = client.post(f"/sales/opportunities/{opp.pk}/move/", {"stage": lost.pk}, **HTMX)
    assert res.status_code == 400 and "reason" in res.content.decode().lower()
    opp.refresh_from_db()
    assert opp.stage == target


def test_move_outside_scope_is_404_and_without_permission_403(client, deals_org):
    opp = OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("初步接洽"))
    target = deals_org.stage("谈判").pk
    client.force_login(deals_org.rep_peer)
    assert client.post(f"/sales/opportunities/{opp.pk}/move/", {"stage": target}).status_code == 404
    assert client.get(f"/sales/opportunities/{opp.pk}/").status_code == 404
    client.force_login(deals_org.ceo)
    assert client.post(f"/sales/opportunities/{opp.pk}/move/", {"stage": target}).status_code == 403
    client.force_login(deals_org.nobody)
    assert client.get("/sales/opportunities/board/").status_code == 403
    opp.refresh_from_db()
    assert opp.stage.name == "初步接洽"


def test_create_opportunity_page(client, deals_org):
    customer = CustomerFactory(owner=deals_org.rep)
    client.force_login(deals_org.rep)
    assert client.get(f"/sales/opportunities/new/?customer={customer.pk}").status_code == 200
    res = client.post(
        "/sales/opportunities/new/",
        {
            "customer": customer.pk,
            "name": "页面商机",
            "amount": "5000",
            "stage": deals_org.stage("需求确认").pk,
        },
    )
    assert res.status_code == 302
    opp = Opportunity.objects.get(name="页面商机")
    assert opp.stage.name == "需求确认" and opp.probability == 30
    res = client.post(
        "/sales/opportunities/new/", {"customer": customer.pk, "name": "", "amount": "x"}
    )
    assert res.status_code == 200 and Opportunity.objects.count() == 1


def test_quote_form_with_lines_and_actions(client, deals_org, discount_template):
    opp = OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("方案报价"))
    product = ProductFactory(price=Decimal("100"))
    client.force_login(deals_org.rep)
    assert client.get(f"/sales/quotes/new/?opportunity={opp.pk}").status_code == 200
    data = {
        "customer": opp.customer_id,
        "opportunity": opp.pk,
        "title": "页面报价",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        "lines-0-product": product.pk,
        "lines-0-quantity": "3",
        "lines-0-discount": "20",
        "lines-1-quantity": "1",
    }
    res = client.post("/sales/quotes/new/", data)
    assert res.status_code == 302, res.content.decode()[:2000]
    quote = Quote.objects.get(title="页面报价")
    assert quote.total == Decimal("240.00") and quote.lines.count() == 1
    res = client.post(f"/sales/quotes/{quote.pk}/submit/")
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING
    assert client.post(f"/sales/quotes/{quote.pk}/nonsense/").status_code == 404
    client.force_login(deals_org.rep_peer)
    assert client.get(f"/sales/quotes/{quote.pk}/").status_code == 404
    assert client.post(f"/sales/quotes/{quote.pk}/accept/").status_code == 404


def test_customer_360_shows_deal_panels(client, deals_org):
    opp = OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("方案报价"), name="360商机")
    services.quote_create(
        by=deals_org.rep, data={"opportunity": opp}, lines=[{"product": ProductFactory().pk}]
    )
    client.force_login(deals_org.rep)
    html = client.get(f"/customers/{opp.customer_id}/").content.decode()
    assert 'data-panel="opportunities"' in html and "360商机" in html
    assert 'data-panel="quotes"' in html


def test_global_search_finds_visible_opportunities(client, deals_org):
    OpportunityFactory(
        owner=deals_org.rep, stage=deals_org.stage("方案报价"), name="星辰数据中心项目"
    )
    OpportunityFactory(
        owner=deals_org.rep_north, stage=deals_org.stage("方案报价"), name="星辰北方项目"
    )
    client.force_login(deals_org.rep)
    html = client.get("/search/?q=星辰").content.decode()
    assert "星辰数据中心项目" in html and "星辰北方项目" not in html
