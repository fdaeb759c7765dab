"""A manager opens a built-in report, groups customers in the builder and drills into a bar
(phone and desktop)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission

from apps.customers.models import Customer
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.reports.models import SavedReport
from apps.sales.models import Opportunity, Pipeline, Stage
from tests.customers.factories import CustomerFactory
from tests.sales.factories import OpportunityFactory, PipelineFactory

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def manager():
    dept = Department.objects.create(name="销售部")
    user = User.objects.create_user(
        username="wangfang", password=PASSWORD, display_name="王芳", department=dept
    )
    role = Group.objects.create(name="销售经理")
    codenames = ["view_customer", "view_opportunity", "add_savedreport"]
    role.permissions.add(*Permission.objects.filter(codename__in=codenames))
    role_scope_set(role=role, model=Customer, scope=Scope.DEPARTMENT)
    role_scope_set(role=role, model=Opportunity, scope=Scope.DEPARTMENT)
    user.groups.add(role)
    colleague = User.objects.create_user(username="lilei", password=PASSWORD, department=dept)
    for level in ("A", "B", "B", "B", "C"):
        CustomerFactory(owner=colleague, level=level)
    CustomerFactory(owner=User.objects.create_user(username="outsider"), level="B")  # not seen
    pipeline = PipelineFactory(name="直销", is_default=True, with_stages=True)
    first = Stage.objects.filter(pipeline=pipeline).order_by("order").first()
    for _n in range(3):
        OpportunityFactory(owner=colleague, stage=first, pipeline=pipeline)
    return user


def login(page, url):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "wangfang")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def chart_drawn(page, selector="[data-chart-json]") -> None:
    chart = page.locator(f"{selector}[data-drawn='1']").first
    chart.wait_for()
    assert chart.locator("canvas").count() >= 1
    box = chart.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100


def click_first_bar(page, chart_selector: str) -> None:
    """Click the middle of the first bar of the first series, where ECharts drew it."""
    chart = page.locator(chart_selector).first
    chart.scroll_into_view_if_needed()
    # Bars grow from the axis for a second after drawing (and after a resize): let them finish.
    page.wait_for_timeout(1500)
    point = page.evaluate(
        """(sel) => {
            const el = document.querySelector(sel);
            const chart = echarts.getInstanceByDom(el);
            const value = chart.getOption().series[0].data[0].value;
            return chart.convertToPixel({seriesIndex: 0}, [0, value / 4]);
        }""",
        chart_selector,
    )
    box = chart.bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def test_builtin_report_builder_and_drill_down(page, viewport, live_server, manager):
    url = live_server.url
    errors = console_errors(page)
    login(page, url)

    # A built-in report: the funnel's chart is drawn, the table shows the three deals.
    page.goto(f"{url}/reports/funnel/")
    chart_drawn(page)
    assert no_horizontal_overflow(page)
    table = page.locator(".weft-report-table").first
    assert "3" in table.locator("tbody tr").first.inner_text()

    # Its first stage drills down to the three deals behind the number.
    table.locator("tbody tr").first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/reports/funnel/drill/"))
    assert page.locator("main table tbody tr").count() == 3

    # The builder: customers grouped by level, as a bar chart.
    page.goto(f"{url}/reports/builder/")
    form = page.locator("#builder-form")
    form.locator("select[name=source]").select_option("customers")
    form.locator("select[name=d0]").select_option("level")
    form.locator("select[name=chart]").select_option("bar")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"d0=level"))
    chart_drawn(page)
    assert no_horizontal_overflow(page)
    rows = page.locator(".weft-report-table tbody tr")
    # the department's customers only (the outsider's B is out of scope); the deals' own
    # customers are level C. Largest group first.
    counts = [
        (r.locator("td").nth(0).inner_text().split(" ")[0], r.locator("td").nth(1).inner_text())
        for r in rows.all()
    ]
    assert counts == [("C", "4"), ("B", "3"), ("A", "1")], counts

    # Click the first bar (level C): the drill-down lists the four records behind it.
    click_first_bar(page, "[data-chart-json][data-drawn='1']")
    page.wait_for_url(re.compile(r"/reports/builder/drill/"))
    assert page.locator("main table tbody tr").count() == 4
    assert "4" in page.locator("h1").first.inner_text()

    # A table row link works too (level B: 3 records)
    page.go_back()
    page.locator(".weft-report-table tbody tr").nth(1).locator("a").first.click()
    page.wait_for_url(re.compile(r"/reports/builder/drill/"))
    assert page.locator("main table tbody tr").count() == 3
    assert no_horizontal_overflow(page)

    assert not SavedReport.objects.exists()
    assert Pipeline.objects.count() == 1
    assert errors == [], errors
