"""Report builder: query generation, scope, field security, drill-down, API, pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import Customer
from apps.org.errors import ServiceError
from apps.org.fields import ensure_permissions
from apps.org.models import FieldPolicy
from apps.reports.builder.query import BUCKETS, drill_queryset, parse_definition, run_query
from apps.reports.models import SavedReport
from apps.reports.services import saved_report_create
from apps.studio.models import FieldDefinition
from tests.customers.factories import CustomerFactory
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(username="boss", is_superuser=True, is_staff=True)


@pytest.fixture
def data():
    east, north = DepartmentFactory(name="华东"), DepartmentFactory(name="华北")
    a, b = UserFactory(department=east), UserFactory(department=north)
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        key="tier",
        label="Tier",
        type="choice",
        choices=[{"value": "gold", "label": "Gold"}, {"value": "std", "label": "Std"}],
    )
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        key="seats",
        label="Seats",
        type="integer",
    )
    when = dt.datetime(2025, 2, 10, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows = [
        (a, "A", "gold", 10, when),
        (a, "B", "gold", 5, when),
        (b, "B", "std", 7, when + dt.timedelta(days=40)),
        (None, "C", None, None, when + dt.timedelta(days=400)),
    ]
    for owner, level, tier, seats, created in rows:
        custom = {k: v for k, v in (("tier", tier), ("seats", seats)) if v is not None}
        CustomerFactory(owner=owner, level=level, custom=custom, created_at=created)
    return {"a": a, "b": b, "east": east}


def q(user, definition, source="customers"):
    return parse_definition(source, definition, user)


def table(result, key="d0_label"):
    return {r[key]: r["m0"] for r in result.rows}


def test_group_by_choice_count(admin, data):
    result = run_query(q(admin, {"dimensions": [{"field": "level"}]}), admin)
    assert table(result) == {"A · key account": 1, "B · important": 2, "C · normal": 1}


def test_group_by_fk_and_one_hop_related(admin, data):
    by_owner = run_query(q(admin, {"dimensions": ["owner"]}), admin)
    assert table(by_owner)[str(data["a"])] == 2 and table(by_owner)["(empty)"] == 1
    by_dept = run_query(q(admin, {"dimensions": ["owner__department"]}), admin)
    assert table(by_dept) == {"华东": 2, "华北": 1, "(empty)": 1}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_date_bucket(admin, data, bucket):
    result = run_query(q(admin, {"dimensions": [{"field": "created_at", "bucket": bucket}]}), admin)
    assert sum(r["m0"] for r in result.rows) == 4
    expected = {
        "day": "2025-02-10",
        "week": "2025-W07",
        "month": "2025-02",
        "quarter": "2025-Q1",
        "year": "2025",
    }[bucket]
    assert expected in table(result)


def test_custom_field_dimension_measures_and_filter(admin, data):
    result = run_query(
        q(
            admin,
            {
                "dimensions": ["custom__tier"],
                "measures": [
                    {"agg": "count"},
                    {"agg": "sum", "field": "custom__seats"},
                    {"agg": "avg", "field": "custom__seats"},
                    {"agg": "min", "field": "custom__seats"},
                    {"agg": "max", "field": "custom__seats"},
                ],
            },
        ),
        admin,
    )
    gold = next(r for r in result.rows if r["d0_label"] == "Gold")
    assert gold["m0"] == 2 and gold["m1"] == 15 and gold["m2"] == Decimal("7.5")
    assert gold["m3"] == 5 and gold["m4"] == 10
    filtered = run_query(
        q(admin, {"filters": [{"field": "custom__seats", "op": "gte", "value": "7"}]}), admin
    )
    assert filtered.rows[0]["m0"] == 2


def test_filters_operators_and_relative_dates(admin, data):
    def count(filters, match="all"):
        return run_query(q(admin, {"filters": filters, "match": match}), admin).rows[0]["m0"]

    assert count([{"field": "level", "op": "eq", "value": "B"}]) == 2
    assert count([{"field": "level", "op": "ne", "value": "B"}]) == 2
    assert count([{"field": "level", "op": "in", "value": "A,C"}]) == 2
    assert count([{"field": "name", "op": "contains", "value": "客户"}]) == 4
    assert count([{"field": "owner", "op": "isnull", "value": "true"}]) == 1
    assert count([{"field": "created_at", "op": "lt", "value": "2025-03-01"}]) == 2
    assert (
        count(
            [
                {"field": "level", "op": "eq", "value": "A"},
                {"field": "level", "op": "eq", "value": "C"},
            ],
            match="any",
        )
        == 2
    )
    CustomerFactory(created_at=timezone.now())
    assert count([{"field": "created_at", "op": "eq", "value": "this_quarter"}]) == 1


def test_bad_definitions_are_400_with_field_errors(admin, data):
    cases = [
        ({"dimensions": ["nope"]}, "dimensions"),
        ({"measures": [{"agg": "sum", "field": "name"}]}, "measures"),
        ({"measures": [{"agg": "median"}]}, "measures"),
        ({"filters": [{"field": "level", "op": "like", "value": "A"}]}, "filters"),
        ({"filters": [{"field": "created_at", "op": "eq", "value": "someday"}]}, "filters"),
        ({"dimensions": [{"field": "level", "bucket": "month"}]}, "dimensions"),
        ({"limit": 0}, "limit"),
        ({"sort": {"by": "m9"}}, "sort"),
    ]
    for definition, key in cases:
        with pytest.raises(ServiceError) as err:
            q(admin, definition)
        assert key in err.value.errors, definition


def test_hidden_field_is_refused_not_dropped(data):
    user = UserFactory()
    make_role("viewer", Customer, scope="all", members=[user])
    ct = ContentType.objects.get_for_model(Customer)
    for name in ("level", "seats"):
        ensure_permissions(FieldPolicy.objects.create(content_type=ct, field_name=name))
    for definition, key in [
        ({"dimensions": ["level"]}, "dimensions"),
        ({"filters": [{"field": "level", "op": "eq", "value": "A"}]}, "filters"),
        ({"measures": [{"agg": "sum", "field": "custom__seats"}]}, "measures"),
    ]:
        with pytest.raises(ServiceError) as err:
            q(user, definition)
        assert "not allowed" in err.value.errors[key][0]
    user.user_permissions.add(permission(Customer, "view_customer__level"))
    user = type(user).objects.get(pk=user.pk)
    assert run_query(q(user, {"dimensions": ["level"]}), user).rows


def test_scope_and_drill_down_match_the_aggregate(data):
    rep = data["a"]
    make_role("rep", Customer, scope="own", members=[rep])
    query = q(rep, {"dimensions": ["level"]})
    result = run_query(query, rep)
    # the rep sees their two customers and the pool customer (公海)
    assert sum(r["m0"] for r in result.rows) == 3
    for row in result.rows:
        records = drill_queryset(query, rep, [row["d0_key"]])
        assert records.count() == row["m0"]
        assert all(c.owner_id in (rep.pk, None) for c in records)


def test_drill_down_on_date_buckets_and_empty_values(admin, data):
    query = q(admin, {"dimensions": [{"field": "created_at", "bucket": "month"}, "custom__tier"]})
    for row in run_query(query, admin).rows:
        assert drill_queryset(query, admin, [row["d0_key"], row["d1_key"]]).count() == row["m0"]


def test_capped_results_are_explained(admin, data):
    from apps.reports.builder.present import builder_report

    result = run_query(q(admin, {"dimensions": ["name"], "limit": 2}), admin)
    assert result.capped and result.total_groups == 4 and len(result.rows) == 2
    report = builder_report(result, title="t", chart="bar")
    assert "first 2 of 4" in report.notes[0]


def test_api_custom_reports_crud_and_data(api_client, admin, data):
    rep = data["a"]
    make_role("rep", Customer, scope="own", members=[rep])
    rep.user_permissions.add(permission(SavedReport, "add_savedreport"))
    api_client.force_authenticate(rep)
    url = "/api/v1/reports/custom/"
    bad = api_client.post(
        url,
        {"name": "x", "source": "customers", "definition": {"dimensions": ["zzz"]}},
        format="json",
    )
    assert bad.status_code == 400 and "dimensions" in bad.json()
    made = api_client.post(
        url,
        {
            "name": "By level",
            "source": "customers",
            "chart": "pie",
            "definition": {"dimensions": ["level"]},
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    got = api_client.get(f"{url}{pk}/data/").json()
    assert sum(got["sections"][0]["series"][0]["data"]) == 3
    # another user: not shared → 404; shared → can read, but not change (403)
    other = UserFactory()
    api_client.force_authenticate(other)
    assert api_client.get(f"{url}{pk}/").status_code == 404
    SavedReport.objects.get(pk=pk).shared_users.add(other)
    assert api_client.get(f"{url}{pk}/").status_code == 200
    assert api_client.patch(f"{url}{pk}/", {"name": "mine"}, format="json").status_code == 403
    assert api_client.delete(f"{url}{pk}/").status_code == 403
    assert SavedReport.objects.get(pk=pk).name == "By level"
    api_client.force_authenticate(None)
    assert api_client.get(url).status_code in (401, 403)


def test_api_builtin_endpoints(api_client, admin, data):
    api_client.force_authenticate(admin)
    for key in (
        "funnel",
        "leaderboard",
        "customer-profile",
        "payment-forecast",
        "receivables-aging",
    ):
        response = api_client.get(f"/api/v1/reports/{key}/")
        assert response.status_code == 200, key
        assert response.json()["report"] == key
    assert api_client.get("/api/v1/reports/funnel/?date_from=nope").status_code == 400
    profile = api_client.get("/api/v1/reports/customer-profile/").json()
    level = next(s for s in profile["sections"] if s["key"] == "level")
    assert sum(r["customers"] for r in level["rows"]) == 4
    nobody = UserFactory()
    api_client.force_authenticate(nobody)
    assert api_client.get("/api/v1/reports/funnel/").status_code == 403


def test_pages_and_exports(client, admin, data):
    client.force_login(admin)
    assert client.get(reverse("reports:index")).status_code == 200
    for key in (
        "funnel",
        "leaderboard",
        "customer-profile",
        "lead-sources",
        "payment-forecast",
        "receivables-aging",
        "ticket-sla",
        "approval-cycle",
        "team-activity",
    ):
        assert client.get(reverse("reports:builtin", args=[key])).status_code == 200, key
        export = client.get(reverse("reports:builtin-export", args=[key]))
        assert export.status_code == 200 and export["Content-Type"].startswith(
            "application/vnd.openxmlformats"
        )
    page = client.get(
        reverse("reports:builder"),
        {"source": "customers", "d0": "level", "m0": "count", "chart": "bar"},
    )
    assert page.status_code == 200 and b"chart-data-0-data" in page.content
    bad = client.get(
        reverse("reports:builder"),
        {"source": "customers", "d0": "level", "filters": "level like A"},
    )
    assert bad.status_code == 200 and b"operator" in bad.content


def test_export_numbers_are_numbers_and_formulas_neutralised(client, admin):
    import io

    from openpyxl import load_workbook

    CustomerFactory(name="=HYPERLINK(1)", province="=cmd|x")
    report = saved_report_create(
        by=admin, name="p", source="customers", definition={"dimensions": ["province"]}
    )
    client.force_login(admin)
    response = client.get(reverse("reports:saved-export", args=[report.pk]))
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=2)]
    assert values == [["'=cmd|x", 1]]


def test_saved_report_page_query_count(client, admin, data):
    report = saved_report_create(
        by=admin, name="levels", source="customers", definition={"dimensions": ["owner"]}
    )
    client.force_login(admin)
    client.get(report.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        assert client.get(report.get_absolute_url()).status_code == 200
    for _i in range(5):
        CustomerFactory(owner=UserFactory())
    with CaptureQueriesContext(connection) as many:
        client.get(report.get_absolute_url())
    assert len(many) == len(few)
    drill = client.get(reverse("reports:saved-drill", args=[report.pk]), {"k": str(data["a"].pk)})
    assert drill.status_code == 200 and drill.context["page"].paginator.count == 2
