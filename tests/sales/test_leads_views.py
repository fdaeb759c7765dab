"""Lead and campaign pages, the public web form page and the lead import: permissions (404
outside scope, 403 without permission, nothing changed), query counts of list and detail
pages, the import's preview and all-or-nothing commit."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.sales.models import Lead
from apps.sales.services import leads as services
from apps.studio.models import ImportJob
from tests.sales.factories import CampaignFactory, LeadFormFactory

from .leads_setup import org_fixture  # noqa: F401 - the `org` fixture

pytestmark = pytest.mark.django_db


def make(org, n, owner=None, **extra):
    owner = owner or org.rep
    return [
        services.lead_create(
            by=owner,
            data={
                "company": f"{owner.username}公司{i}",
                "mobile": f"13{owner.pk:03d}{i:06d}",
                **extra,
            },
            owner=owner,
        )
        for i in range(n)
    ]


def count_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200, res.status_code
    return len(ctx.captured_queries)


def test_pages_need_sign_in_and_permission(client, org):
    lead = make(org, 1)[0]
    assert client.get("/sales/leads/").status_code == 302
    client.force_login(org.nobody)
    assert client.get("/sales/leads/").status_code == 403
    client.force_login(org.rep_peer)
    assert client.get(f"/sales/leads/{lead.pk}/").status_code == 404
    client.force_login(org.rep)
    res = client.get(f"/sales/leads/{lead.pk}/")
    assert res.status_code == 200 and lead.company in res.content.decode()


def test_list_query_count_is_flat(client, org):
    campaign = CampaignFactory(owner=org.marketing)
    make(org, 2, campaign=campaign)
    client.force_login(org.rep)
    before = count_queries(client, "/sales/leads/")
    for i in range(6):
        services.lead_create(
            by=org.rep,
            data={"company": f"更多{i}", "mobile": f"1350000{i:04d}", "campaign": campaign},
            owner=org.rep,
        )
    assert count_queries(client, "/sales/leads/") == before
    assert count_queries(client, "/sales/leads/?q=更多&status=assigned") <= before + 1


def test_detail_query_count_is_flat(client, org):
    lead = make(org, 1)[0]
    client.force_login(org.rep)
    before = count_queries(client, f"/sales/leads/{lead.pk}/")
    for _ in range(4):
        services.lead_contact(lead=lead, by=org.rep, note="x")
        services.lead_create(by=None, data={"company": lead.company, "mobile": "13000000000"})
    assert count_queries(client, f"/sales/leads/{lead.pk}/") == before


def test_campaign_pages_query_counts(client, org):
    first = CampaignFactory(owner=org.marketing)
    make(org, 2, campaign=first)
    client.force_login(org.marketing)
    before = count_queries(client, "/sales/campaigns/")
    for _ in range(4):
        make(org, 1, owner=org.rep_peer, campaign=CampaignFactory(owner=org.marketing))
    assert count_queries(client, "/sales/campaigns/") == before
    detail = count_queries(client, f"/sales/campaigns/{first.pk}/")
    make(org, 3, owner=org.rep_north, campaign=first)
    assert count_queries(client, f"/sales/campaigns/{first.pk}/") == detail
    res = client.get(f"/sales/campaigns/{first.pk}/")
    assert 'data-figure="leads">5<' in res.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("nobody", 404), ("rep_north", 404), ("rep_peer", 404), ("rep", 302), ("director", 302)],
)
def test_contact_action_matrix(client, org, who, status):
    lead = make(org, 1)[0]
    client.force_login(getattr(org, who))
    res = client.post(f"/sales/leads/{lead.pk}/contact/", {"note": "打过电话"})
    assert res.status_code == status
    lead.refresh_from_db()
    assert (lead.status == "contacted") == (status == 302)


def test_create_edit_and_convert_pages(client, org):
    client.force_login(org.rep)
    res = client.post(
        "/sales/leads/new/",
        {"company": "页面公司", "contact_name": "李四", "mobile": "13711112222", "source": "manual",
         "owner": org.rep.pk},
    )  # fmt: skip
    lead = Lead.objects.get()
    assert res.status_code == 302 and lead.owner == org.rep
    res = client.post("/sales/leads/new/", {"company": "", "source": "manual"})
    assert res.status_code == 200 and Lead.objects.count() == 1  # form errors
    res = client.post(
        f"/sales/leads/{lead.pk}/edit/",
        {"company": "页面公司2", "mobile": "13711112222", "source": "manual"},
    )
    lead.refresh_from_db()
    assert res.status_code == 302 and lead.company == "页面公司2"
    assert client.get(f"/sales/leads/{lead.pk}/convert/").status_code == 200
    res = client.post(f"/sales/leads/{lead.pk}/convert/", {})
    customer = Customer.objects.get()
    assert res.status_code == 302 and res.url == customer.get_absolute_url()
    lead.refresh_from_db()
    assert lead.status == "converted"
    client.force_login(org.rep_peer)
    assert client.get(f"/sales/leads/{lead.pk}/convert/").status_code == 404


def test_public_form_page(client, org):
    form = LeadFormFactory(success_message="谢谢")
    url = f"/sales/forms/{form.key}/"
    res = client.get(url)
    assert res.status_code == 200 and res.get("X-Frame-Options") is None
    res = client.post(url, {"contact_name": "访客"})
    assert res.status_code == 400 and not Lead.objects.exists()
    res = client.post(url, {"contact_name": "访客", "mobile": "13812345678", "company": "访客公司"})
    assert res.status_code == 200 and "谢谢" in res.content.decode()
    assert Lead.objects.get().form == form
    assert client.get("/sales/forms/unknown/").status_code == 404


def _xlsx(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["company", "contact_name", "mobile", "province", "owner"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "leads.xlsx"
    return buf


def test_import_preview_and_all_or_nothing(client, org):
    client.force_login(org.director)
    bad = _xlsx(
        [
            ["甲公司", "甲", "13800000001", "上海", ""],
            ["", "", "", "", ""],
            ["乙", "", "", "北京", "ghost"],
        ]
    )
    res = client.post("/sales/leads/import/", {"kind": "leads", "file": bad})
    job = ImportJob.objects.get()
    assert res.status_code == 302 and job.status == ImportJob.Status.PREVIEWED
    assert {e["row"] for e in job.errors} == {2} and not Lead.objects.exists()
    assert client.post(f"/sales/leads/import/{job.pk}/commit/").status_code == 302
    assert not Lead.objects.exists()
    good = _xlsx(
        [
            ["甲公司", "甲", "13800000001", "上海", ""],
            ["甲 公司", "乙", "13800000002", "北京", "rep_north"],
        ]
    )
    client.post("/sales/leads/import/", {"kind": "leads", "file": good})
    job = ImportJob.objects.latest("pk")
    assert job.status == ImportJob.Status.PREVIEWED and not job.errors
    client.post(f"/sales/leads/import/{job.pk}/commit/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 2
    first, second = Lead.objects.order_by("pk")
    assert first.source == "import" and second.duplicate_of == first
    assert second.owner == org.rep_north


def test_import_needs_the_permission(client, org):
    client.force_login(org.rep)
    assert client.get("/sales/leads/import/").status_code == 403
