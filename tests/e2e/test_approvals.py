"""An approver on a phone opens the inbox, reads the request and approves it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from apps.approvals import services
from apps.approvals.models import ApprovalRequest, ApprovalStep, ApprovalTemplate, ApproverType
from apps.org.models import Department, User

from .conftest import PHONE, no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def viewport():
    """This test is about the phone: override the desktop/phone parametrisation."""
    return "phone", PHONE


@pytest.fixture
def request_waiting():
    dept = Department.objects.create(name="销售部")
    director = User.objects.create_user(
        username="lina", password=PASSWORD, display_name="李娜", department=dept
    )
    rep = User.objects.create_user(
        username="zhangwei",
        password=PASSWORD,
        display_name="张伟",
        department=dept,
        manager=director,
    )
    perm = Permission.objects.get(codename="add_approvalrequest")
    for user in (director, rep):
        user.user_permissions.add(perm)
    template = ApprovalTemplate.objects.create(code="expense-e2e", name="费用报销", kind="general")
    ApprovalStep.objects.create(
        template=template, order=0, name="直属上级审批", approver_type=ApproverType.MANAGER
    )
    return services.approval_start(
        template=template, by=rep, title="北京出差报销", amount="2576.50"
    )


def test_approve_from_a_phone(page, live_server, request_waiting):
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "lina")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")

    # The menu lives in an off-canvas panel on a phone.
    page.locator("[data-bs-toggle=offcanvas]").first.click()
    page.locator("a[href='/approvals/inbox/']:visible").first.click()
    page.wait_for_url(f"{url}/approvals/inbox/")
    assert no_horizontal_overflow(page)

    detail = f"/approvals/{request_waiting.pk}/"
    page.locator(f"a[href='{detail}']").first.click()
    page.wait_for_url(f"{url}{detail}")
    assert page.get_by_text("北京出差报销").first.is_visible()
    assert no_horizontal_overflow(page)

    page.locator(".weft-approval-decide textarea[name=comment]").fill("同意，辛苦了")
    approve = page.locator("button[name=action][value=approve]")
    assert approve.is_visible()
    approve.click()
    page.wait_for_url(f"{url}{detail}")
    page.locator("[data-status=approved]").first.wait_for()
    assert page.locator("button[name=action][value=approve]").count() == 0
    assert no_horizontal_overflow(page)

    request_waiting.refresh_from_db()
    assert request_waiting.status == ApprovalRequest.Status.APPROVED
    assert request_waiting.actions.filter(kind="approve", comment="同意，辛苦了").exists()
