"""Dashboards: services, pages, the widget fragment, permission matrix and query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.customers.models import Customer
from apps.org.errors import ServiceError
from apps.reports import services
from apps.reports.models import Dashboard, DashboardItem, ReportEvent
from apps.reports.services import saved_report_create
from apps.sales.models import Opportunity
from tests.customers.factories import CustomerFactory
from tests.org.factories import DepartmentFactory, UserFactory, make_role, permission
from tests.sales.factories import OpportunityFactory, PipelineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    east, north = DepartmentFactory(name="华东"), DepartmentFactory(name="华北")
    owner = UserFactory(username="owner", department=east)
    colleague = UserFactory(username="colleague", department=east)
    stranger = UserFactory(username="stranger", department=north)
    manager = UserFactory(username="manager", department=east)
    role = make_role(
        "sales",
        Opportunity,
        scope="department",
        members=[owner, colleague, stranger, manager],
    )
    role.permissions.add(permission(Customer, "view_customer"))
    manager.user_permissions.add(permission(Dashboard, "share_dashboard"))
    owner.user_permissions.add(permission(Dashboard, "share_dashboard"))
    return {
        "east": east,
        "owner": owner,
        "colleague": colleague,
        "stranger": stranger,
        "manager": manager,
        "role": role,
    }


def snapshot(board):
    board.refresh_from_db()
    return (
        board.name,
        sorted(board.shared_users.values_list("pk", flat=True)),
        list(board.items.order_by("position").values_list("pk", "position", "width")),
    )


# --- services --------------------------------------------------------------------------------


def test_home_dashboard_created_once_with_permitted_builtins(people):
    board = services.dashboard_home(user=people["owner"])
    assert board.is_home and board.owner == people["owner"]
    # the sales role opens the funnel and the leaderboard, not the payment forecast
    assert list(board.items.values_list("builtin", "width", "position")) == [
        ("funnel", 6, 0),
        ("leaderboard", 6, 1),
    ]
    assert services.dashboard_home(user=people["owner"]).pk == board.pk
    assert Dashboard.objects.filter(owner=people["owner"]).count() == 1
    assert ReportEvent.objects.filter(dashboard=board, kind="dashboard_changed").count() == 1


def test_shared_dashboard_needs_the_permission(people):
    with pytest.raises(ServiceError):
        services.dashboard_create(by=people["colleague"], name="Team")
    board = services.dashboard_create(
        by=people["manager"], name=" Team ", users=[people["colleague"]], roles=[people["role"]]
    )
    assert board.name == "Team" and not board.is_home
    assert list(board.shared_users.all()) == [people["colleague"]]
    with pytest.raises(ServiceError):
        services.dashboard_create(by=people["manager"], name="  ")


def test_items_add_reorder_resize_remove(people):
    owner = people["owner"]
    board = services.dashboard_create(by=owner, name="Mine")
    a = services.dashboard_add_item(dashboard=board, by=owner, builtin="funnel", width=4)
    b = services.dashboard_add_item(dashboard=board, by=owner, builtin="leaderboard")
    report = saved_report_create(
        by=UserFactory(is_superuser=True), name="x", source="customers", definition={}
    )
    with pytest.raises(ServiceError):  # not shared with the owner
        services.dashboard_add_item(dashboard=board, by=owner, saved_report=report)
    report.shared_users.add(owner)
    c = services.dashboard_add_item(dashboard=board, by=owner, saved_report=report, width=12)
    assert [i.pk for i in board.items.order_by("position")] == [a.pk, b.pk, c.pk]

    services.dashboard_change_item(item=c, by=owner, action="up")
    assert [i.pk for i in board.items.order_by("position")] == [a.pk, c.pk, b.pk]
    services.dashboard_change_item(item=a, by=owner, action="up")  # already first: no change
    assert [i.pk for i in board.items.order_by("position")] == [a.pk, c.pk, b.pk]
    services.dashboard_change_item(item=a, by=owner, action="resize", width=8)
    assert DashboardItem.objects.get(pk=a.pk).width == 8
    services.dashboard_change_item(item=c, by=owner, action="remove")
    assert list(board.items.order_by("position").values_list("pk", "position")) == [
        (a.pk, 0),
        (b.pk, 1),
    ]
    for bad in (
        dict(action="resize", width=5),
        dict(action="explode"),
    ):
        with pytest.raises(ServiceError):
            services.dashboard_change_item(item=a, by=owner, **bad)
    for bad in (
        dict(builtin="nope"),
        dict(builtin="funnel", width=3),
        dict(),
        dict(builtin="funnel", saved_report=report),
        dict(builtin="payment-forecast"),  # the owner may not open it
    ):
        with pytest.raises(ServiceError):
            services.dashboard_add_item(dashboard=board, by=owner, **bad)
    assert board.items.count() == 2


def test_only_the_owner_changes_a_dashboard(people):
    board = services.dashboard_create(by=people["owner"], name="Mine", users=[people["manager"]])
    for who in ("colleague", "manager"):
        with pytest.raises(ServiceError):
            services.dashboard_update(dashboard=board, by=people[who], name="theirs")
        with pytest.raises(ServiceError):
            services.dashboard_add_item(dashboard=board, by=people[who], builtin="funnel")
        with pytest.raises(ServiceError):
            services.dashboard_delete(dashboard=board, by=people[who])
    assert Dashboard.objects.get(pk=board.pk).name == "Mine"
    home = services.dashboard_home(user=people["owner"])
    with pytest.raises(ServiceError):
        services.dashboard_update(dashboard=home, by=people["owner"], users=[people["manager"]])
    assert not home.shared_users.exists()


def test_other_peoples_home_dashboards_stay_private(people):
    from apps.reports.selectors import dashboards_for

    home = services.dashboard_home(user=people["owner"])
    boss = UserFactory(is_superuser=True)
    assert home not in dashboards_for(boss)
    assert home not in dashboards_for(people["colleague"])
    shared = services.dashboard_create(by=people["manager"], name="T", roles=[people["role"]])
    assert shared in dashboards_for(people["stranger"])


# --- pages: permission matrix ---------------------------------------------------------------


@pytest.fixture
def board(people):
    owner = people["owner"]
    board = services.dashboard_create(by=owner, name="Mine", users=[people["colleague"]])
    services.dashboard_add_item(dashboard=board, by=owner, builtin="funnel")
    services.dashboard_add_item(dashboard=board, by=owner, builtin="leaderboard")
    return board


def _mutations(board, people):
    item = board.items.order_by("position").first()
    return [
        (reverse("reports:dashboard-edit", args=[board.pk]), {"name": "Changed"}),
        (
            reverse("reports:dashboard-add", args=[board.pk]),
            {"report": "builtin:funnel", "width": "12", "title": ""},
        ),
        (reverse("reports:dashboard-item", args=[item.pk, "down"]), {}),
        (reverse("reports:dashboard-item", args=[item.pk, "resize"]), {"width": "12"}),
        (reverse("reports:dashboard-item", args=[item.pk, "remove"]), {}),
        (reverse("reports:dashboard-delete", args=[board.pk]), {}),
    ]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("anonymous", {302}),  # to the login page
        ("stranger", {404}),  # other department, not shared: not found
        ("colleague", {403, 302}),  # shared with them, but not theirs: refused / message
        ("manager", {404}),  # holds share_dashboard, but the board is not theirs
    ],
)
def test_dashboard_mutations_refused(client, people, board, who, expected):
    if who != "anonymous":
        client.force_login(people[who])
    before = snapshot(board)
    for url, data in _mutations(board, people):
        response = client.post(url, data)
        assert response.status_code in expected, (who, url, response.status_code)
        if who == "anonymous":
            assert "/login" in response["Location"] or "login" in response["Location"]
        assert Dashboard.objects.filter(pk=board.pk).exists()
        assert snapshot(board) == before, (who, url)


def test_dashboard_mutations_by_the_owner(client, people, board):
    client.force_login(people["owner"])
    first, second = board.items.order_by("position")
    response = client.post(reverse("reports:dashboard-edit", args=[board.pk]), {"name": "New"})
    assert response.status_code == 302 and Dashboard.objects.get(pk=board.pk).name == "New"
    client.post(
        reverse("reports:dashboard-add", args=[board.pk]),
        {"report": "builtin:customer-profile", "width": "12", "title": "Profile"},
    )
    assert board.items.count() == 3
    client.post(reverse("reports:dashboard-item", args=[first.pk, "down"]))
    assert list(board.items.order_by("position").values_list("pk", flat=True))[:2] == [
        second.pk,
        first.pk,
    ]
    client.post(reverse("reports:dashboard-item", args=[first.pk, "resize"]), {"width": "4"})
    assert DashboardItem.objects.get(pk=first.pk).width == 4
    client.post(reverse("reports:dashboard-item", args=[first.pk, "remove"]))
    assert not DashboardItem.objects.filter(pk=first.pk).exists()
    # bad input: a message, nothing changed, never a 500
    bad = client.post(reverse("reports:dashboard-add", args=[board.pk]), {"report": "x:1"})
    assert bad.status_code == 302 and board.items.count() == 2
    bad = client.post(reverse("reports:dashboard-item", args=[second.pk, "resize"]), {"width": "z"})
    assert bad.status_code == 302 and DashboardItem.objects.get(pk=second.pk).width == 6
    response = client.post(reverse("reports:dashboard-delete", args=[board.pk]))
    assert response.status_code == 302 and not Dashboard.objects.filter(pk=board.pk).exists()
    assert ReportEvent.objects.filter(kind="dashboard_deleted").count() == 1


def test_new_shared_dashboard_page(client, people):
    client.force_login(people["colleague"])
    assert client.get(reverse("reports:dashboard-new")).status_code == 403
    assert client.post(reverse("reports:dashboard-new"), {"name": "X"}).status_code == 403
    assert not Dashboard.objects.exists()
    client.force_login(people["manager"])
    assert client.get(reverse("reports:dashboard-new")).status_code == 200
    bad = client.post(reverse("reports:dashboard-new"), {"name": ""})
    assert bad.status_code == 200 and bad.context["form"].errors
    response = client.post(
        reverse("reports:dashboard-new"), {"name": "Team", "roles": [people["role"].pk]}
    )
    board = Dashboard.objects.get(name="Team")
    assert response.status_code == 302 and list(board.shared_roles.all()) == [people["role"]]


def test_home_page_redirects_to_the_home_dashboard(client, people):
    client.force_login(people["owner"])
    response = client.get(reverse("reports:dashboard-home"))
    board = Dashboard.objects.get(owner=people["owner"], is_home=True)
    assert response.status_code == 302 and response["Location"] == board.get_absolute_url()
    page = client.get(board.get_absolute_url())
    assert page.status_code == 200 and len(page.context["items"]) == 2
    assert b"col-12 col-lg-6" in page.content


# --- widgets and global filters --------------------------------------------------------------


def test_widget_applies_period_and_department(client, people, board):
    pipeline = PipelineFactory(is_default=True, with_stages=True)
    first = pipeline.stages.order_by("order").first()
    OpportunityFactory(owner=people["owner"], stage=first)
    OpportunityFactory(owner=people["colleague"], stage=first)
    client.force_login(people["owner"])
    item = board.items.get(builtin="funnel")
    url = reverse("reports:widget")
    page = client.get(url, {"item": item.pk, "period": "this_year"})
    assert page.status_code == 200
    rows = page.context["sections"][0]["section"].rows
    assert rows[0]["count"] == 2
    other = DepartmentFactory()
    page = client.get(url, {"item": item.pk, "period": "this_year", "department": other.pk})
    assert page.context["sections"][0]["section"].rows[0]["count"] == 0
    page = client.get(url, {"item": item.pk, "period": "last_year"})
    assert page.context["sections"][0]["section"].rows[0]["count"] == 0
    # someone the board is not shared with: 404
    client.force_login(people["stranger"])
    assert client.get(url, {"item": item.pk}).status_code == 404


def test_widget_of_a_saved_report_not_shared_says_so(client, people, board):
    boss = UserFactory(is_superuser=True)
    report = saved_report_create(
        by=boss, name="levels", source="customers", definition={"dimensions": ["level"]}
    )
    report.shared_users.add(people["owner"])
    item = services.dashboard_add_item(dashboard=board, by=people["owner"], saved_report=report)
    client.force_login(people["colleague"])  # the board is shared, the report is not
    page = client.get(reverse("reports:widget"), {"item": item.pk})
    assert page.status_code == 200 and page.context["error"]
    client.force_login(people["owner"])
    page = client.get(reverse("reports:widget"), {"item": item.pk})
    assert page.context["error"] is None and page.context["sections"]


# --- query counts ----------------------------------------------------------------------------


def test_dashboard_page_query_count(client, people, board):
    client.force_login(people["owner"])
    url = board.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for key in ("customer-profile", "team-activity", "ticket-sla"):
        DashboardItem.objects.create(dashboard=board, builtin=key, position=9)
    boss = UserFactory(is_superuser=True)
    for n in range(3):
        report = saved_report_create(by=boss, name=f"r{n}", source="customers", definition={})
        DashboardItem.objects.create(dashboard=board, saved_report=report, position=10 + n)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_widget_query_count_does_not_grow_with_rows(client, people, board):
    boss = UserFactory(is_superuser=True)
    report = saved_report_create(
        by=boss, name="by owner", source="customers", definition={"dimensions": ["owner"]}
    )
    report.shared_users.add(people["owner"])
    item = services.dashboard_add_item(dashboard=board, by=people["owner"], saved_report=report)
    funnel = board.items.get(builtin="funnel")
    pipeline = PipelineFactory(is_default=True, with_stages=True)
    CustomerFactory(owner=people["owner"])
    client.force_login(people["owner"])
    url = reverse("reports:widget")
    for it in (item, funnel):
        client.get(url, {"item": it.pk})
    with CaptureQueriesContext(connection) as few_saved:
        client.get(url, {"item": item.pk})
    with CaptureQueriesContext(connection) as few_funnel:
        client.get(url, {"item": funnel.pk})
    first = pipeline.stages.order_by("order").first()
    for _n in range(5):
        CustomerFactory(owner=UserFactory(department=people["east"]))
        OpportunityFactory(owner=people["owner"], stage=first)
    with CaptureQueriesContext(connection) as many_saved:
        client.get(url, {"item": item.pk})
    with CaptureQueriesContext(connection) as many_funnel:
        client.get(url, {"item": funnel.pk})
    assert len(many_saved) == len(few_saved)
    assert len(many_funnel) == len(few_funnel)


def test_dashboard_filters_apply_to_match_any_reports(client, people, board):
    """A saved report whose own filters are "any": the dashboard's period and department
    still apply to all of it, and the widget's drill-down lists the same records."""
    import datetime as dt

    from django.utils import timezone

    east, owner = people["east"], people["owner"]
    north_rep = people["stranger"]
    old = timezone.now() - dt.timedelta(days=800)
    js = "江苏"
    CustomerFactory(owner=owner, level="A", province=js)  # east, this year, matches (level A)
    CustomerFactory(owner=owner, level="B", province="上海")  # matches (province)
    CustomerFactory(owner=owner, level="C", province=js)  # matches neither own filter
    CustomerFactory(owner=owner, level="A", province=js, created_at=old)  # out of the period
    CustomerFactory(owner=north_rep, level="A", province=js)  # other department
    boss = UserFactory(is_superuser=True)
    report = saved_report_create(
        by=boss,
        name="A or Shanghai",
        source="customers",
        definition={
            "dimensions": ["level"],
            "filters": [
                {"field": "level", "op": "eq", "value": "A"},
                {"field": "province", "op": "eq", "value": "上海"},
            ],
            "match": "any",
        },
    )
    report.shared_users.add(owner)
    item = services.dashboard_add_item(dashboard=board, by=owner, saved_report=report)
    client.force_login(boss)
    Dashboard.objects.filter(pk=board.pk).update(owner=boss)
    url = reverse("reports:widget")

    def counts(query):
        page = client.get(url, {"item": item.pk, **query})
        assert page.context["error"] is None
        rows = page.context["sections"][0]["section"].rows
        return {r["d0_label"][:1]: r["m0"] for r in rows}, rows

    everything, _rows = counts({})
    assert everything == {"A": 3, "B": 1}
    filtered, rows = counts({"period": "this_year", "department": east.pk})
    assert filtered == {"A": 1, "B": 1}
    for row in rows:
        drill = client.get(row["_drill"])
        assert drill.status_code == 200
        assert drill.context["page"].paginator.count == row["m0"], row["_drill"]
