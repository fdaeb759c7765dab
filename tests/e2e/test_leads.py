"""A visitor fills a company's public lead form; the rep the rules route it to finds it in the
lead list and records the first contact (phone and desktop)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from apps.customers.models import Territory
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.sales.models import AssignmentRule, Lead, LeadForm

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def web_form():
    dept = Department.objects.create(name="销售部")
    rep = User.objects.create_user(
        username="zhangwei", password=PASSWORD, display_name="张伟", department=dept
    )
    role = Group.objects.create(name="销售")
    role.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sales", codename__in=["view_lead", "change_lead", "add_lead"]
        )
    )
    role_scope_set(role=role, model=Lead, scope=Scope.OWN)
    rep.groups.add(role)
    Territory.objects.create(name="华东", provinces=["上海", "江苏"], owner=rep)
    AssignmentRule.objects.create(name="华东", strategy="territory_owner", order=1)
    return LeadForm.objects.create(name="官网咨询", success_message="感谢咨询，我们会尽快联系您。")


def test_public_form_to_first_contact(page, viewport, live_server, web_form):
    url = live_server.url
    page.goto(f"{url}/sales/forms/{web_form.key}/")
    assert no_horizontal_overflow(page)
    form = page.locator("#public-lead-form")
    form.locator("input[name=contact_name]").fill("李经理")
    form.locator("button[type=submit]").click()
    form.locator(".invalid-feedback, .alert-danger").first.wait_for()  # no mobile / e-mail
    assert not Lead.objects.exists()
    form.locator("input[name=company]").fill("上海星河机械有限公司")
    form.locator("input[name=mobile]").fill("13912345678")
    form.locator("select[name=province]").select_option("上海")
    form.locator("button[type=submit]").click()
    page.locator("#lead-thanks").wait_for()
    assert "感谢咨询" in page.locator("#lead-thanks").inner_text()
    lead = Lead.objects.get()
    assert lead.owner.username == "zhangwei" and lead.source == "web_form"

    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/sales/leads/")
    assert no_horizontal_overflow(page)
    detail = f"/sales/leads/{lead.pk}/"
    page.locator(f"a[href='{detail}']:visible").first.click()
    page.wait_for_url(f"{url}{detail}")
    assert no_horizontal_overflow(page)
    page.locator("textarea[name=note]").fill("电话沟通，客户需要报价")
    page.locator("button[name=do][value=contact]").click()
    page.wait_for_url(f"{url}{detail}")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    assert "电话沟通，客户需要报价" in page.locator("[data-kind=contacted]").inner_text()
