"""API of leads, campaigns and the public web form (DESIGN §5): shapes, the permission matrix
of every mutating endpoint (anonymous / no permission / other department / owner / manager,
asserting the status and that nothing changed), search, conversion, public form protection."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.sales.models import Campaign, Lead
from apps.sales.services import leads as services
from tests.sales.factories import CampaignFactory, LeadFormFactory, PipelineFactory

from .leads_setup import (
    caller,
    client_for,
    matrix,
    org_fixture,  # noqa: F401 - the `org` fixture
)

pytestmark = pytest.mark.django_db

LEAD_KEYS = {
    "id", "company", "contact_name", "mobile", "email", "source", "campaign", "province",
    "industry", "status", "owner", "custom",
}  # fmt: skip


@pytest.fixture
def lead(org):
    """rep's lead (华东组)."""
    return services.lead_create(
        by=org.rep,
        data={"company": "上海张三贸易有限公司", "contact_name": "张三", "mobile": "13900001111"},
        owner=org.rep,
    )


def snapshot(lead):
    lead.refresh_from_db()
    return (lead.company, lead.status, lead.owner_id, lead.disqualified_reason)


def test_shape_and_scope(org, lead):
    res = client_for(org.rep).get("/api/v1/leads/")
    assert res.status_code == 200
    body = res.json()
    assert body["count"] == 1 and LEAD_KEYS <= set(body["results"][0])
    assert client_for(org.rep_peer).get("/api/v1/leads/").json()["count"] == 0
    assert client_for(org.director).get("/api/v1/leads/").json()["count"] == 1
    assert client_for(org.rep_peer).get(f"/api/v1/leads/{lead.pk}/").status_code == 404


@pytest.mark.parametrize("text", ["张三贸易", "shzs", "shanghaizhangsan", "1390000", "张三"])
def test_search(org, lead, text):
    res = client_for(org.rep).get("/api/v1/leads/", {"search": text})
    assert [r["id"] for r in res.json()["results"]] == [lead.pk]


def test_list_query_count_does_not_grow(org):
    for i in range(3):
        services.lead_create(
            by=org.rep, data={"company": f"公司{i}", "mobile": f"1390000{i:04d}"}, owner=org.rep
        )
    client = client_for(org.rep)
    client.get("/api/v1/leads/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/leads/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for i in range(5):
        services.lead_create(
            by=org.rep, data={"company": f"新公司{i}", "mobile": f"1370000{i:04d}"}, owner=org.rep
        )
    assert count() == before


@pytest.mark.parametrize(("who", "status"), matrix(401, 403, 201, 201, 201))
def test_create(org, who, status):
    res = client_for(caller(org, who)).post(
        "/api/v1/leads/", {"company": "新线索", "mobile": "13800000000"}, format="json"
    )
    assert res.status_code == status, res.content
    if status == 201:
        lead = Lead.objects.get()
        assert lead.source == "api" and res.json()["company"] == "新线索"
    else:
        assert not Lead.objects.exists()


def test_create_bad_input_is_400_with_field_errors(org):
    res = client_for(org.rep).post(
        "/api/v1/leads/", {"email": "not-an-email", "industry": "nope"}, format="json"
    )
    assert res.status_code == 400 and {"email", "industry"} <= set(res.json())
    res = client_for(org.rep).post("/api/v1/leads/", {"description": "x"}, format="json")
    assert res.status_code == 400 and set(res.json()) == {"company", "mobile"}
    assert not Lead.objects.exists()


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 200, 200))
def test_update(org, lead, who, status):
    before = snapshot(lead)
    res = client_for(caller(org, who)).patch(
        f"/api/v1/leads/{lead.pk}/", {"company": "改名贸易"}, format="json"
    )
    assert res.status_code == status, res.content
    assert snapshot(lead)[0] == ("改名贸易" if status == 200 else before[0])


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 204, 204))
def test_delete(org, lead, who, status):
    res = client_for(caller(org, who)).delete(f"/api/v1/leads/{lead.pk}/")
    assert res.status_code == status
    assert Lead.objects.filter(pk=lead.pk).exists() == (status != 204)


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 403, 200))
def test_assign(org, lead, who, status):
    res = client_for(caller(org, who)).post(
        f"/api/v1/leads/{lead.pk}/assign/", {"owner": org.rep_peer.pk}, format="json"
    )
    assert res.status_code == status, res.content
    assert snapshot(lead)[2] == (org.rep_peer.pk if status == 200 else org.rep.pk)


@pytest.mark.parametrize("action", ["contact", "qualify", "disqualify"])
@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 200, 200))
def test_status_actions(org, lead, action, who, status):
    res = client_for(caller(org, who)).post(
        f"/api/v1/leads/{lead.pk}/{action}/", {"reason": "预算不足"}, format="json"
    )
    assert res.status_code == status, res.content
    expected = {"contact": "contacted", "qualify": "qualified", "disqualify": "disqualified"}
    assert snapshot(lead)[1] == (expected[action] if status == 200 else "assigned")


def test_disqualify_needs_a_reason_and_closed_leads_conflict(org, lead):
    client = client_for(org.rep)
    res = client.post(f"/api/v1/leads/{lead.pk}/disqualify/", {}, format="json")
    assert res.status_code == 400 and "reason" in res.json()
    client.post(f"/api/v1/leads/{lead.pk}/disqualify/", {"reason": "x"}, format="json")
    assert client.post(f"/api/v1/leads/{lead.pk}/contact/").status_code == 409


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 200, 200))
def test_convert(org, lead, who, status):
    PipelineFactory(name="直销", is_default=True, with_stages=True)
    res = client_for(caller(org, who)).post(
        f"/api/v1/leads/{lead.pk}/convert/", {"opportunity": True, "amount": "5000"}, format="json"
    )
    assert res.status_code == status, res.content
    if status == 200:
        body = res.json()
        assert set(body) == {"customer", "contact", "opportunity"}
        assert body["opportunity"] is not None
        assert Customer.objects.get(pk=body["customer"]).name == "上海张三贸易有限公司"
        assert snapshot(lead)[1] == "converted"
    else:
        assert not Customer.objects.exists() and snapshot(lead)[1] == "assigned"


def test_convert_without_opportunity_and_bad_stage(org, lead):
    client = client_for(org.rep)
    res = client.post(f"/api/v1/leads/{lead.pk}/convert/", {"stage": 999999}, format="json")
    assert res.status_code == 400 and "stage" in res.json()
    res = client.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")
    assert res.status_code == 200 and res.json()["opportunity"] is None
    assert client.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json").status_code == 409


# --- campaigns -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("nobody", 403), ("rep", 403), ("director", 403), ("marketing", 201)],
)
def test_create_campaign(org, who, status):
    res = client_for(caller(org, who)).post(
        "/api/v1/campaigns/",
        {"name": "展会", "channel": "exhibition", "cost": "1000.00", "start_date": "2026-01-01"},
        format="json",
    )
    assert res.status_code == status, res.content
    assert Campaign.objects.exists() == (status == 201)


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("rep", 403), ("director", 403), ("marketing", 200)]
)
def test_update_campaign(org, who, status):
    campaign = CampaignFactory(owner=org.marketing, cost="100.00")
    res = client_for(caller(org, who)).patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"cost": "200.00"}, format="json"
    )
    assert res.status_code == status, res.content
    campaign.refresh_from_db()
    assert str(campaign.cost) == ("200.00" if status == 200 else "100.00")


def test_campaign_results_and_dates(org, lead):
    campaign = CampaignFactory(owner=org.marketing, cost="1000.00")
    Lead.objects.filter(pk=lead.pk).update(campaign=campaign)
    body = client_for(org.rep).get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert {"id", "name", "channel", "cost", "start_date", "end_date"} <= set(body)
    assert body["leads"] == 1 and body["cost_per_lead"] == "1000.00" and body["roi"] == "-100.0"
    res = client_for(org.marketing).patch(
        f"/api/v1/campaigns/{campaign.pk}/",
        {"start_date": "2026-05-01", "end_date": "2026-04-01"},
        format="json",
    )
    assert res.status_code == 400 and "end_date" in res.json()


# --- public web form -------------------------------------------------------------------------


@pytest.fixture
def web_form(org):
    return LeadFormFactory(campaign=CampaignFactory(owner=org.marketing), rate_limit_per_hour=3)


def test_public_form_creates_an_attributed_lead(org, web_form, api_client):
    res = api_client.post(
        "/api/v1/public/leads/",
        {
            "form_key": web_form.key,
            "company": "访客公司",
            "contact_name": "访客",
            "mobile": "13812345678",
            "province": "上海",
            "source": "manual",
        },
        format="json",
    )
    assert res.status_code == 201 and "detail" in res.json()
    lead = Lead.objects.get()
    assert (lead.source, lead.form, lead.campaign) == ("web_form", web_form, web_form.campaign)
    assert lead.channel == web_form.campaign.channel and lead.created_by is None


def test_public_form_errors_honeypot_and_no_duplicate_reveal(org, web_form, api_client):
    url = "/api/v1/public/leads/"
    assert api_client.post(
        url, {"form_key": "nope", "mobile": "1"}, format="json"
    ).json().keys() >= {"form_key"}
    res = api_client.post(url, {"form_key": web_form.key}, format="json")
    assert res.status_code == 400 and set(res.json()) == {"company", "mobile"}
    bot = {"form_key": web_form.key, "company": "Bot", "mobile": "13800000000", "website": "x"}
    assert api_client.post(url, bot, format="json").status_code == 201
    assert not Lead.objects.exists()
    cache.clear()
    human = {**bot, "website": ""}
    first = api_client.post(url, human, format="json")
    again = api_client.post(url, human, format="json")
    assert first.json() == again.json() and again.status_code == 201
    assert Lead.objects.filter(duplicate_of__isnull=False).count() == 1


def test_public_form_is_rate_limited_per_form_and_address(org, web_form, api_client):
    data = {"form_key": web_form.key, "company": "C", "mobile": "13800000000"}
    codes = [
        api_client.post("/api/v1/public/leads/", data, format="json").status_code for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    other = api_client.post("/api/v1/public/leads/", data, format="json", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 201
    assert Lead.objects.count() == 4
