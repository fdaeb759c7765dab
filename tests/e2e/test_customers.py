"""A sales rep opens a customer's 360° page and logs a follow-up (phone and desktop)."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group, Permission

from apps.customers.models import Contact, Customer, FollowUp
from apps.customers.services.customers import customer_create
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"
SHOTS = os.environ.get("WEFT_SCREENSHOTS")  # a directory: keep screenshots to look at


@pytest.fixture
def customer():
    dept = Department.objects.create(name="销售部")
    rep = User.objects.create_user(
        username="zhangwei", password=PASSWORD, display_name="张伟", department=dept
    )
    role = Group.objects.create(name="销售")
    codenames = [
        "view_customer",
        "add_customer",
        "change_customer",
        "claim_customer",
        "view_contact",
        "add_contact",
        "change_contact",
        "view_followup",
        "add_followup",
        "change_followup",
        "view_ticket",
        "add_ticket",
    ]
    role.permissions.add(*Permission.objects.filter(codename__in=codenames))
    for model in ("customer", "contact", "followup", "ticket"):
        from django.apps import apps

        role_scope_set(role=role, model=apps.get_model("customers", model), scope=Scope.OWN)
    rep.groups.add(role)
    obj = customer_create(
        by=rep,
        data={"name": "上海华东机电有限公司", "phone": "021-5555 0001", "province": "上海"},
    )
    Contact.objects.create(customer=obj, name="李经理", mobile="13800000001", is_primary=True)
    return obj


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_log_a_follow_up_from_the_360_page(page, viewport, live_server, customer):
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/customers/")
    assert no_horizontal_overflow(page)
    shot(page, f"list-{viewport[0]}")
    detail = f"/customers/{customer.pk}/"
    page.locator(f"a[href='{detail}']:visible").first.click()
    page.wait_for_url(f"{url}{detail}")
    assert page.get_by_text("上海华东机电有限公司").first.is_visible()
    assert no_horizontal_overflow(page)
    shot(page, f"360-{viewport[0]}")

    form = page.locator("#follow-up-form")
    form.locator("select[name=kind]").select_option("visit")
    form.locator("select[name=contact]").select_option(label="李经理")
    form.locator("textarea[name=content]").fill("上门拜访，客户确认下月采购三台设备")
    form.locator("input[name=next_step]").fill("发送报价单")
    form.locator("button[name=log]").click()
    page.locator("[data-logged='1']").wait_for()
    timeline = page.locator("#timeline-card .weft-timeline")
    assert "上门拜访，客户确认下月采购三台设备" in timeline.inner_text()
    assert no_horizontal_overflow(page)
    shot(page, f"360-logged-{viewport[0]}")

    fu = FollowUp.objects.get()
    assert fu.kind == "visit" and fu.contact.name == "李经理" and fu.next_step == "发送报价单"
    assert Customer.objects.get(pk=customer.pk).last_contacted_at == fu.occurred_at

    # An empty log shows the error under the field and saves nothing.
    form = page.locator("#follow-up-form")
    form.locator("button[name=log]").click()
    page.locator("#follow-up-form .invalid-feedback").first.wait_for()
    assert FollowUp.objects.count() == 1
