"""The acceptance journey of issue #9, through the UI only, as the demo company's people:

the rep (sales1) enters a lead and converts it into a customer with a deal, drags the deal to
the won column of the board (a mouse at desktop width, a finger at phone width) and drafts the
contract from the won deal; the sales director and then the CEO approve it (the demo `contract`
template: two steps for 500,000 and more); finance records the payment; the director opens
the rep leaderboard and finds the payment against the rep.

The roles, scopes, field policies, pipelines and approval templates are the demo seeders' own
(`apps.*.demo`), not the bulk demo data: the journey checks what a demo user may really do.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest

from apps.approvals.models import ApprovalRequest, ApprovalTemplate
from apps.sales.models import Contract, Lead, Opportunity, Payment, Stage

from .conftest import no_horizontal_overflow
from .pointer import Finger, Mouse, drag_to_column

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "demo1234"  # noqa: S105 - the demo company's documented password
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
COMPANY = "杭州云栖智能制造有限公司"
AMOUNT = "680000"


@pytest.fixture(params=["desktop", "phone"])
def viewport(request):
    """The journey's own sizes: a laptop and a current phone (iPhone 14 class)."""
    return request.param, DESKTOP if request.param == "desktop" else PHONE


# --- helpers: what a person does with the UI ---------------------------------------------------


def sign_in(page, url: str, username: str) -> None:
    page.context.clear_cookies()  # the previous person signs out
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")


def open_menu(page, url: str, path: str) -> None:
    """Follow the sidebar link to `path` (on a phone the sidebar is an off-canvas panel)."""
    link = page.locator(f"#weft-sidebar a[href='{path}']").first
    if not link.is_visible():
        page.locator("[data-bs-toggle=offcanvas][data-bs-target='#weft-sidebar']").first.click()
        link.wait_for(state="visible")
    link.click()
    page.wait_for_url(f"{url}{path}")
    assert no_horizontal_overflow(page), path


def click_and_wait(page, locator, url_pattern) -> None:
    locator.click()
    page.wait_for_url(url_pattern)
    assert no_horizontal_overflow(page), page.url


def approve(page, url: str, username: str, contract: Contract, comment: str) -> None:
    sign_in(page, url, username)
    open_menu(page, url, "/approvals/inbox/")
    detail = f"/approvals/{contract.approval_id}/"
    click_and_wait(page, page.locator(f"main a[href='{detail}']:visible").first, f"{url}{detail}")
    page.locator(".weft-approval-decide textarea[name=comment]").fill(comment)
    page.locator("button[name=action][value=approve]").click()
    # The page reloads itself (same address): wait for the decision form to go.
    page.locator(".weft-approval-decide").wait_for(state="detached")
    assert page.url == f"{url}{detail}"


# --- the journey -------------------------------------------------------------------------------


def test_lead_to_payment_on_the_leaderboard(page, viewport, live_server, demo_company):
    url = live_server.url
    started = time.monotonic()
    rep = demo_company.users["sales1"]
    template = ApprovalTemplate.objects.get(code="contract")
    assert template.steps.count() == 2  # the director, then the CEO from 500,000 up

    # 1. The rep enters a lead from a phone call.
    sign_in(page, url, "sales1")
    open_menu(page, url, "/sales/leads/")
    click_and_wait(
        page, page.locator("a[href='/sales/leads/new/']").first, f"{url}/sales/leads/new/"
    )
    form = page.locator("main form[method=post]")
    form.locator("button[type=submit]").first.click()  # empty: the form says what is missing
    page.locator(".invalid-feedback, .alert-danger").first.wait_for()
    assert not Lead.objects.exists()
    form.locator("input[name=company]").fill(COMPANY)
    form.locator("input[name=contact_name]").fill("周明")
    form.locator("input[name=mobile]").fill("13957112345")
    form.locator("select[name=province]").select_option("浙江")
    click_and_wait(
        page, form.locator("button[type=submit]").first, re.compile(r"/sales/leads/\d+/$")
    )
    lead = Lead.objects.get(company=COMPANY)
    assert lead.owner == rep

    # 2. ... and converts it: customer, contact and a deal in one step.
    click_and_wait(
        page,
        page.locator(f"a[href='/sales/leads/{lead.pk}/convert/']").first,
        f"{url}/sales/leads/{lead.pk}/convert/",
    )
    page.locator("input[name=create_opportunity]").check()
    page.fill("input[name=name]", "云栖智造 MES 项目")
    page.fill("input[name=amount]", AMOUNT)
    click_and_wait(
        page, page.locator("main form button[type=submit]").first, re.compile(r"/customers/\d+/$")
    )
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    deal = Opportunity.objects.get(pk=lead.converted_opportunity_id)
    assert deal.customer.name == COMPANY and deal.amount == Decimal(AMOUNT)

    # 3. The deal is won: dragged on the board to the won column.
    open_menu(page, url, "/sales/opportunities/board/")
    won = Stage.objects.get(pipeline=deal.pipeline, is_won=True)
    card = page.locator(f"#deal-{deal.pk}")
    column = page.locator(f".weft-board-cards[data-stage='{won.pk}']")
    pointer = Mouse(page) if viewport[0] == "desktop" else Finger(page)
    drag_to_column(page, pointer, card, column, page.locator("#weft-board"))
    page.locator(
        f".weft-board-cards[data-stage='{won.pk}'] #deal-{deal.pk}[data-status='won']"
    ).wait_for()
    page.locator(f"#stage-head-{won.pk} [data-count='1']").wait_for()
    assert no_horizontal_overflow(page)
    deal.refresh_from_db()
    assert deal.status == Opportunity.Status.WON and deal.stage_id == won.pk

    # 4. The rep drafts the contract from the won deal and sends it for approval.
    click_and_wait(
        page,
        card.locator(f"a[href='/sales/opportunities/{deal.pk}/']"),
        re.compile(rf"/sales/opportunities/{deal.pk}/$"),
    )
    click_and_wait(
        page, page.locator("a[data-new-contract]").first, re.compile(r"/sales/contracts/new/")
    )
    assert page.locator("select[name=opportunity]").input_value() == str(deal.pk)
    assert page.locator("input[name=amount]").input_value().startswith(AMOUNT)
    page.fill("input[name=title]", "MES 系统实施合同")
    click_and_wait(
        page,
        page.locator("main form button[type=submit]").first,
        re.compile(r"/sales/contracts/\d+/$"),
    )
    contract = Contract.objects.get(opportunity=deal)
    assert contract.status == Contract.Status.DRAFT and contract.amount == Decimal(AMOUNT)
    page.locator("button[name=do][value=submit]").click()
    page.locator("button[name=do][value=submit]").wait_for(state="detached")  # page reloaded
    contract.refresh_from_db()
    assert contract.status == Contract.Status.PENDING

    # 5. Two approvers in turn: the sales director, then the CEO (500,000 and more).
    approve(page, url, "sales_director", contract, "价格已核对")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.PENDING
    approve(page, url, "ceo", contract, "同意签约")
    page.locator("[data-status=approved]").first.wait_for()
    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    assert contract.approval.status == ApprovalRequest.Status.APPROVED

    # 6. Finance records the first payment.
    sign_in(page, url, "finance")
    open_menu(page, url, "/sales/contracts/")
    detail = f"/sales/contracts/{contract.pk}/"
    click_and_wait(page, page.locator(f"a[href='{detail}']:visible").first, f"{url}{detail}")
    click_and_wait(
        page,
        page.locator(f"a[href='/sales/contracts/{contract.pk}/payments/new/']").first,
        f"{url}/sales/contracts/{contract.pk}/payments/new/",
    )
    page.fill("input[name=amount]", "204000")
    page.fill("input[name=reference]", "ICBC20261123001")
    click_and_wait(page, page.locator("main form button[type=submit]").last, f"{url}{detail}")
    assert "476000.00" in page.locator("[data-receivable]").inner_text()  # 680,000 - 204,000
    assert Payment.objects.get(contract=contract).amount == Decimal("204000")

    # 7. The director opens the rep leaderboard: the rep's row shows the payment.
    sign_in(page, url, "sales_director")
    open_menu(page, url, "/reports/")
    click_and_wait(
        page,
        page.locator("main a[href^='/reports/leaderboard/']").first,
        re.compile(r"/reports/leaderboard/"),
    )
    row = page.locator(".weft-report-table tbody tr").filter(has_text="张伟")
    assert row.count() == 1
    assert re.search(r"204,?000", row.inner_text()), row.inner_text()
    assert re.search(r"680,?000", row.inner_text()), row.inner_text()

    assert time.monotonic() - started < 60
