"""Lead list gaps of issue #5: the Excel export (API and page), bulk assignment (API and page),
the column chooser with custom-field columns and sorting by column. Permission matrix
(anonymous / no permission / other department / owner / manager) asserting the status and
that nothing changed; query counts of the list with custom columns."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.org.models import FieldPolicy
from apps.sales.models import Lead, LeadEvent
from apps.sales.services import leads as services
from apps.studio.models import FieldDefinition, ListPreference

from .leads_setup import (
    caller,
    client_for,
    matrix,
    org_fixture,  # noqa: F401 - the `org` fixture
)

pytestmark = pytest.mark.django_db


def make(owner, company, mobile, **extra):
    return services.lead_create(
        by=owner, data={"company": company, "mobile": mobile, **extra}, owner=owner
    )


@pytest.fixture
def leads(org):
    """Two of rep's leads (华东组) and one of rep_north's (华北组)."""
    return [
        make(org.rep, "上海甲公司", "13900000001"),
        make(org.rep, '=HYPERLINK("http://x")', "13900000002"),
        make(org.rep_north, "北京乙公司", "13900000003"),
    ]


def owners(leads):
    return [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]


def sheet_rows(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return list(sheet.iter_rows(values_only=True))


def restrict(field_name):
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Lead),
        field_name=field_name,
        restrict_view=True,
    )


# --- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), matrix(401, 403, 403, 403, 200))
def test_api_export_permission(org, leads, who, status):
    res = client_for(caller(org, who)).get("/api/v1/leads/export/")
    assert res.status_code == status
    if status == 200:
        assert res["Content-Type"].startswith("application/vnd.openxmlformats")
        assert len(sheet_rows(res.content)) == 1 + 3  # header + the director's tree


def test_api_export_filters_field_security_and_formulas(org, leads):
    restrict("mobile")
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Lead), key="budget", label="Budget",
        type="text",
    )  # fmt: skip
    Lead.objects.filter(pk=leads[1].pk).update(custom={"budget": "@SUM(A1)"})
    res = client_for(org.director).get("/api/v1/leads/export/", {"owner": org.rep.pk})
    assert res.status_code == 200
    rows = sheet_rows(res.content)
    header = [str(h) for h in rows[0]]
    assert "Budget" in header
    assert not any("mobile" in h.lower() or "手机" in h for h in header)
    assert len(rows) == 3  # rep's two leads only
    values = [v for row in rows[1:] for v in row if isinstance(v, str)]
    assert any(v.startswith("'=HYPERLINK") for v in values)
    assert "'@SUM(A1)" in values
    assert not any("13900000001" in v for v in values)


def test_page_export(client, org, leads):
    client.force_login(org.rep)
    assert client.get("/sales/leads/export/").status_code == 403
    assert "lead-export" not in client.get("/sales/leads/").content.decode()
    client.force_login(org.director)
    assert 'id="lead-export"' in client.get("/sales/leads/").content.decode()
    res = client.get("/sales/leads/export/", {"q": "北京"})
    assert res.status_code == 200
    rows = sheet_rows(res.content)
    assert len(rows) == 2 and "北京乙公司" in rows[1]


# --- bulk assign -----------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), matrix(401, 403, 403, 403, 200))
def test_api_bulk_assign_permission(org, leads, who, status):
    ids = [leads[0].pk, leads[1].pk]
    res = client_for(caller(org, who)).post(
        "/api/v1/leads/bulk-assign/", {"ids": ids, "owner": org.rep_peer.pk}, format="json"
    )
    assert res.status_code == status, res.content
    if status == 200:
        assert res.json() == {"assigned": ids, "owner": org.rep_peer.pk}
        assert owners(leads[:2]) == [org.rep_peer.pk] * 2
        assert LeadEvent.objects.filter(lead__in=ids, kind=LeadEvent.Kind.ASSIGNED).count() == 4
    else:
        assert owners(leads[:2]) == [org.rep.pk] * 2


def test_api_bulk_assign_is_all_or_nothing_and_names_bad_ids(org, leads):
    outside = make(org.marketing, "市场部的线索", "13700000009")  # not in the director's tree
    closed = leads[1]
    services.lead_disqualify(lead=closed, by=org.rep, reason="spam")
    client = client_for(org.director)
    res = client.post(
        "/api/v1/leads/bulk-assign/",
        {"ids": [leads[0].pk, outside.pk, 999999, closed.pk], "owner": org.rep_peer.pk},
        format="json",
    )
    assert res.status_code == 400
    text = " ".join(res.json()["ids"])
    assert str(outside.pk) in text and "999999" in text and str(closed.pk) in text
    assert str(leads[0].pk) not in text.replace(str(leads[0].pk) + "0", "")
    assert owners([leads[0], outside]) == [org.rep.pk, org.marketing.pk]
    for body in (
        {"ids": [], "owner": org.rep_peer.pk},
        {"ids": ["x"], "owner": org.rep_peer.pk},
        {"ids": [leads[0].pk]},
        {"ids": [leads[0].pk], "owner": 999999},
    ):
        res = client.post("/api/v1/leads/bulk-assign/", body, format="json")
        assert res.status_code == 400, body
        assert set(res.json()) <= {"ids", "owner"}
    assert owners([leads[0]]) == [org.rep.pk]


def test_page_bulk_assign(client, org, leads):
    client.force_login(org.rep)
    res = client.post(
        "/sales/leads/bulk/",
        {"action": "assign", "ids": [leads[0].pk], "owner": org.rep_peer.pk},
    )
    assert res.status_code == 403 and owners(leads[:1]) == [org.rep.pk]
    client.force_login(org.director)
    body = client.get("/sales/leads/").content.decode()
    assert 'id="lead-bulk-form"' in body and 'form="lead-bulk-form"' in body
    res = client.post(
        "/sales/leads/bulk/",
        {"action": "assign", "ids": [leads[0].pk, leads[2].pk], "owner": org.rep_peer.pk},
        follow=True,
    )
    assert res.status_code == 200
    assert owners([leads[0], leads[2]]) == [org.rep_peer.pk] * 2
    outside = make(org.marketing, "市场部的线索", "13700000009")
    res = client.post(
        "/sales/leads/bulk/",
        {"action": "assign", "ids": [leads[1].pk, outside.pk], "owner": org.rep_north.pk},
        follow=True,
    )
    assert str(outside.pk) in res.content.decode()
    assert owners([leads[1], outside]) == [org.rep.pk, org.marketing.pk]
    res = client.post("/sales/leads/bulk/", {"action": "assign", "ids": [leads[1].pk]})
    assert res.status_code == 302 and owners([leads[1]]) == [org.rep.pk]  # no owner chosen
    res = client.post("/sales/leads/bulk/", {"action": "export", "ids": [leads[1].pk]})
    assert res.status_code == 200 and len(sheet_rows(res.content)) == 2


# --- columns and sorting ---------------------------------------------------------------------


def test_columns_custom_fields_and_sorting(client, org, leads):
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Lead), key="erp_code", label="ERP code",
        type="text", show_in_list=True,
    )  # fmt: skip
    Lead.objects.filter(pk=leads[0].pk).update(custom={"erp_code": "ERP-77"})
    client.force_login(org.rep)
    body = client.get("/sales/leads/").content.decode()
    assert 'data-column="custom__erp_code"' in body and "ERP-77" in body
    assert client.post("/sales/leads/columns/", {"columns": ["email", "bogus"]}).status_code == 302
    assert ListPreference.objects.get(user=org.rep).value == ["email"]
    body = client.get("/sales/leads/").content.decode()
    assert 'data-column="email"' in body and 'data-column="owner"' not in body
    client.post("/sales/leads/columns/", {"reset": "1"})
    assert not ListPreference.objects.filter(user=org.rep).exists()
    body = client.get("/sales/leads/?sort=company").content.decode()  # "=" sorts before 上
    assert body.index("=HYPERLINK") < body.index("上海甲公司")
    body = client.get("/sales/leads/?sort=-company").content.decode()
    assert body.index("上海甲公司") < body.index("=HYPERLINK")
    # A field hidden by field security is neither a column nor a sort key.
    restrict("source")
    res = client.get("/sales/leads/?sort=source")
    assert res.status_code == 200 and 'data-column="source"' not in res.content.decode()
    assert 'value="source"' not in res.content.decode()


def test_list_query_count_with_every_column(client, org, leads):
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Lead), key="erp_code", label="ERP code",
        type="text", show_in_list=True,
    )  # fmt: skip
    client.force_login(org.director)
    every = ["contact_name", "mobile", "status", "owner", "department", "source", "channel",
             "campaign", "province", "industry", "created_at", "custom__erp_code"]  # fmt: skip
    client.post("/sales/leads/columns/", {"columns": every})

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/sales/leads/?sort=-created_at").status_code == 200
        return len(ctx.captured_queries)

    count()
    before = count()
    for i in range(8):
        make(org.rep_north, f"更多公司{i}", f"1360000{i:04d}")
    assert count() == before
