"""API of the deals area (DESIGN §5): the contract's fields and actions, and the permission
matrix of every mutating endpoint (anonymous / no permission / other department / owner /
manager), asserting the status and that nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.sales.models import Opportunity, Product, Quote, StageChange
from apps.sales.services import deals as services
from tests.customers.factories import CustomerFactory
from tests.sales.deals_fixtures import fresh
from tests.sales.factories import OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(fresh(user))
    return client


@pytest.fixture
def deal(deals_org):
    customer = CustomerFactory(owner=deals_org.rep)
    return services.opportunity_create(
        by=deals_org.rep, data={"name": "OA 项目", "customer": customer, "amount": Decimal("80000")}
    )


def test_pipelines_and_stages_fields(deals_org):
    res = client_for(deals_org.rep).get("/api/v1/pipelines/")
    assert res.status_code == 200
    row = res.json()["results"][0]
    assert {"id", "name"} <= set(row)
    res = client_for(deals_org.rep).get(f"/api/v1/stages/?pipeline={deals_org.pipeline.pk}")
    stage = res.json()["results"][0]
    assert {"id", "pipeline", "name", "order", "probability", "is_won", "is_lost"} <= set(stage)
    assert client_for(None).get("/api/v1/stages/").status_code in (401, 403)
    assert client_for(deals_org.nobody).get("/api/v1/stages/").status_code == 403
    res = client_for(deals_org.rep).post(
        "/api/v1/stages/", {"pipeline": deals_org.pipeline.pk, "name": "x"}
    )
    assert res.status_code == 403


def test_opportunity_fields_and_scope(deals_org, deal):
    res = client_for(deals_org.rep).get("/api/v1/opportunities/")
    row = res.json()["results"][0]
    for key in (
        "id",
        "customer",
        "name",
        "amount",
        "pipeline",
        "stage",
        "probability",
        "expected_close_date",
        "owner",
        "status",
    ):
        assert key in row
    assert row["status"] == "open" and row["owner"] == deals_org.rep.pk
    assert (
        client_for(deals_org.rep_peer).get(f"/api/v1/opportunities/{deal.pk}/").status_code == 404
    )
    assert (
        client_for(deals_org.director).get(f"/api/v1/opportunities/{deal.pk}/").status_code == 200
    )
    assert client_for(deals_org.ceo).get(f"/api/v1/opportunities/{deal.pk}/").status_code == 200


def test_create_opportunity(deals_org):
    customer = CustomerFactory(owner=deals_org.rep)
    res = client_for(deals_org.rep).post(
        "/api/v1/opportunities/",
        {
            "customer": customer.pk,
            "name": "新商机",
            "amount": "120000.00",
            "expected_close_date": "2030-01-31",
        },
        format="json",
    )
    assert res.status_code == 201, res.json()
    assert res.json()["stage"] == deals_org.stage("初步接洽").pk and res.json()["probability"] == 10
    bad = client_for(deals_org.rep).post(
        "/api/v1/opportunities/",
        {"customer": customer.pk, "name": "", "amount": "-1"},
        format="json",
    )
    assert bad.status_code == 400 and "name" in bad.json()
    other = CustomerFactory(owner=deals_org.rep_north)
    res = client_for(deals_org.rep).post(
        "/api/v1/opportunities/", {"customer": other.pk, "name": "x", "amount": "1"}, format="json"
    )
    assert res.status_code == 400 and "customer" in res.json()
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize(
    "who,status",
    [
        ("anonymous", 401),
        ("nobody", 404),
        ("rep_peer", 404),
        ("rep_north", 404),
        ("ceo", 403),
        ("rep", 200),
        ("director", 200),
    ],
)
def test_move_permission_matrix(deals_org, deal, who, status):
    user = None if who == "anonymous" else getattr(deals_org, who)
    target = deals_org.stage("方案报价")
    res = client_for(user).post(
        f"/api/v1/opportunities/{deal.pk}/move/", {"stage": target.pk}, format="json"
    )
    assert res.status_code in ((401, 403) if status == 401 else (status,)), res.content
    deal.refresh_from_db()
    if status == 200:
        assert deal.stage == target and res.json()["probability"] == 60
        assert StageChange.objects.filter(opportunity=deal).count() == 2
    else:
        assert deal.stage.name == "初步接洽"
        assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_move_to_lost_needs_reason(deals_org, deal):
    lost = deals_org.stage("输单")
    client = client_for(deals_org.rep)
    res = client.post(f"/api/v1/opportunities/{deal.pk}/move/", {"stage": lost.pk}, format="json")
    assert res.status_code == 400 and "reason" in res.json()
    deal.refresh_from_db()
    assert deal.status == "open"
    res = client.post(
        f"/api/v1/opportunities/{deal.pk}/move/",
        {"stage": lost.pk, "reason": "预算取消"},
        format="json",
    )
    assert res.status_code == 200 and res.json()["status"] == "lost"
    assert (
        client.post(
            f"/api/v1/opportunities/{deal.pk}/move/", {"stage": "abc"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(f"/api/v1/opportunities/{deal.pk}/move/", {}, format="json").status_code == 400
    )


@pytest.mark.parametrize(
    "who,status",
    [
        ("anonymous", 401),
        ("nobody", 404),
        ("rep_peer", 404),
        ("ceo", 403),
        ("rep", 200),
        ("director", 200),
    ],
)
def test_patch_permission_matrix(deals_org, deal, who, status):
    user = None if who == "anonymous" else getattr(deals_org, who)
    res = client_for(user).patch(
        f"/api/v1/opportunities/{deal.pk}/", {"amount": "99000.00"}, format="json"
    )
    assert res.status_code in ((401, 403) if status == 401 else (status,))
    deal.refresh_from_db()
    assert deal.amount == (Decimal("99000.00") if status == 200 else Decimal("80000.00"))


@pytest.mark.parametrize(
    "who,status",
    [("anonymous", 401), ("rep_peer", 404), ("ceo", 403), ("rep", 403), ("director", 204)],
)
def test_delete_permission_matrix(deals_org, deal, who, status):
    user = None if who == "anonymous" else getattr(deals_org, who)
    res = client_for(user).delete(f"/api/v1/opportunities/{deal.pk}/")
    assert res.status_code in ((401, 403) if status == 401 else (status,))
    assert Opportunity.objects.filter(pk=deal.pk).exists() == (status != 204)


def test_forecast_endpoint_matches_selector(deals_org):
    OpportunityFactory(owner=deals_org.rep, stage=deals_org.stage("谈判"), amount=Decimal("10000"))
    res = client_for(deals_org.director).get("/api/v1/opportunities/forecast/?months=3")
    assert res.status_code == 200
    assert res.json()["weighted"] == "8000.00" and res.json()["count"] == 1
    assert (
        client_for(deals_org.director).get("/api/v1/opportunities/forecast/?by=x").status_code
        == 400
    )
    assert (
        client_for(deals_org.director)
        .get("/api/v1/opportunities/forecast/?start=2026-13")
        .status_code
        == 400
    )


# --- products and quotes ----------------------------------------------------------------------


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("rep", 403), ("director", 201)])
def test_product_create_matrix(deals_org, who, status):
    user = None if who == "anonymous" else getattr(deals_org, who)
    res = client_for(user).post(
        "/api/v1/products/", {"sku": "SKU-NEW", "name": "新产品", "price": "100.00"}, format="json"
    )
    assert res.status_code in ((401, 403) if status == 401 else (status,))
    assert Product.objects.filter(sku="SKU-NEW").exists() == (status == 201)


def test_product_duplicate_sku_is_400(deals_org):
    ProductFactory(sku="DUP-1")
    res = client_for(deals_org.director).post(
        "/api/v1/products/", {"sku": "DUP-1", "name": "x", "price": "1"}, format="json"
    )
    assert res.status_code == 400 and "sku" in res.json()


def _quote_payload(deal, discount="0"):
    return {
        "opportunity": deal.pk,
        "lines": [
            {
                "product": ProductFactory(price=Decimal("1000")).pk,
                "quantity": "2",
                "discount": discount,
            }
        ],
    }


def test_quote_create_fields_and_bad_input(deals_org, deal):
    client = client_for(deals_org.rep)
    res = client.post("/api/v1/quotes/", _quote_payload(deal, "10"), format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    for key in ("id", "customer", "opportunity", "lines", "total", "status"):
        assert key in body
    assert body["customer"] == deal.customer_id and body["status"] == "draft"
    assert body["total"] == "1800.00"
    assert set(body["lines"][0]) >= {"product", "quantity", "unit_price", "discount"}
    assert (
        client.post(
            "/api/v1/quotes/", {"opportunity": deal.pk, "lines": []}, format="json"
        ).status_code
        == 400
    )
    bad = client.post(
        "/api/v1/quotes/", {"opportunity": deal.pk, "lines": [{"product": 999999}]}, format="json"
    )
    assert bad.status_code == 400
    bad = client.post(
        "/api/v1/quotes/",
        {"opportunity": deal.pk, "lines": [{"description": "x", "discount": "150"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert Quote.objects.count() == 1


@pytest.mark.parametrize(
    "who,status",
    [
        ("anonymous", 401),
        ("nobody", 404),
        ("rep_peer", 404),
        ("ceo", 403),
        ("rep", 200),
        ("director", 200),
    ],
)
def test_quote_submit_matrix_and_discount_approval(deals_org, deal, discount_template, who, status):
    quote = services.quote_create(
        by=deals_org.rep, data={"opportunity": deal}, lines=_quote_payload(deal, "20")["lines"]
    )
    user = None if who == "anonymous" else getattr(deals_org, who)
    res = client_for(user).post(f"/api/v1/quotes/{quote.pk}/submit/")
    assert res.status_code in ((401, 403) if status == 401 else (status,))
    quote.refresh_from_db()
    if status == 200:
        assert res.json()["status"] == "pending" and quote.approval is not None
    else:
        assert quote.status == "draft" and quote.approval is None


def test_quote_accept_decline_and_contract(deals_org, deal, discount_template):
    from django.contrib.auth.models import Permission

    deals_org.rep.user_permissions.add(Permission.objects.get(codename="add_contract"))
    client = client_for(deals_org.rep)
    quote = services.quote_create(
        by=deals_org.rep, data={"opportunity": deal}, lines=_quote_payload(deal)["lines"]
    )
    assert client.post(f"/api/v1/quotes/{quote.pk}/accept/").status_code == 400  # still a draft
    assert client.post(f"/api/v1/quotes/{quote.pk}/submit/").json()["status"] == "approved"
    assert client.post(f"/api/v1/quotes/{quote.pk}/accept/").json()["status"] == "accepted"
    res = client.post(f"/api/v1/quotes/{quote.pk}/contract/")
    assert res.status_code == 201 and res.json()["amount"] == "2000.00"
    assert client.post(f"/api/v1/quotes/{quote.pk}/contract/").status_code == 400
    other = services.quote_create(
        by=deals_org.rep, data={"opportunity": deal}, lines=_quote_payload(deal)["lines"]
    )
    client.post(f"/api/v1/quotes/{other.pk}/submit/")
    res = client.post(f"/api/v1/quotes/{other.pk}/decline/", {"reason": "太贵"}, format="json")
    assert res.json()["status"] == "declined"
    peer = client_for(deals_org.rep_peer)
    assert peer.post(f"/api/v1/quotes/{other.pk}/decline/").status_code == 404
