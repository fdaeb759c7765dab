"""Finance opens an executing contract, records a payment and sees the receivable drop; an
overpayment shows its error under the amount (phone and desktop)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from apps.customers.models import Customer
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.sales.models import Contract, Payment, PaymentPlan

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def contract():
    dept = Department.objects.create(name="财务部")
    finance = User.objects.create_user(
        username="chenjing", password=PASSWORD, display_name="陈静", department=dept
    )
    role = Group.objects.create(name="财务")
    codenames = [
        "view_customer",
        "view_contract",
        "view_payment",
        "add_payment",
        "view_paymentplan",
        "view_invoice",
        "add_invoice",
    ]
    role.permissions.add(*Permission.objects.filter(codename__in=codenames))
    from django.apps import apps

    for label in ("customers.Customer", "sales.Contract", "sales.Payment", "sales.PaymentPlan"):
        role_scope_set(role=role, model=apps.get_model(label), scope=Scope.ALL)
    finance.groups.add(role)
    customer = Customer.objects.create(name="苏州精工机械有限公司", owner=finance)
    obj = Contract.objects.create(
        number="HT-2026-0042",
        title="设备采购合同",
        customer=customer,
        owner=finance,
        amount=Decimal("100000.00"),
        status=Contract.Status.EXECUTING,
    )
    PaymentPlan.objects.create(contract=obj, seq=1, due_date="2026-01-15", amount=Decimal("30000"))
    return obj


def test_record_a_payment(page, viewport, live_server, contract):
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "chenjing")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/sales/contracts/")
    assert no_horizontal_overflow(page)
    detail = f"/sales/contracts/{contract.pk}/"
    page.locator(f"a[href='{detail}']:visible").first.click()
    page.wait_for_url(f"{url}{detail}")
    assert "100000.00" in page.locator("[data-receivable]").inner_text()
    assert no_horizontal_overflow(page)

    page.locator(f"a[href='/sales/contracts/{contract.pk}/payments/new/']").click()
    page.fill("input[name=amount]", "100000.01")
    page.locator("form button[type=submit]").last.click()
    page.locator(".invalid-feedback").first.wait_for()
    assert Payment.objects.count() == 0
    assert no_horizontal_overflow(page)

    page.fill("input[name=amount]", "30000")
    page.fill("input[name=reference]", "BK20260115001")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{url}{detail}")
    assert "70000.00" in page.locator("[data-receivable]").inner_text()
    assert Contract.objects.get(pk=contract.pk).received_amount == Decimal("30000.00")


def test_new_contract_picks_the_customer_then_its_deal(page, viewport, live_server, demo_company):
    """From the contracts list: find the customer, pick it, and the deal field offers that
    customer's deals (htmx); the saved contract is linked to the deal (issue #9)."""
    from apps.sales.models import Opportunity
    from apps.sales.services.deals import opportunity_create

    rep = demo_company.users["sales1"]
    customer = Customer.objects.create(
        name="宁波海天精密机械有限公司", name_normalized="宁波海天精密机械", owner=rep
    )
    deal = opportunity_create(
        by=rep, data={"name": "海天 PLM 项目", "customer": customer, "amount": Decimal(120000)}
    )
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "sales1")
    page.fill("input[name=password]", "demo1234")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/sales/contracts/")
    page.locator("a[href='/sales/contracts/new/']").first.click()
    page.wait_for_url(f"{url}/sales/contracts/new/")
    assert page.locator("#id_opportunity option").count() == 1  # only the empty choice
    page.fill("#customer-search", "宁波海天")  # names match from their start
    page.locator(f"#customer-options input[value='{customer.pk}']").check()
    page.locator(f"#id_opportunity option[value='{deal.pk}']").wait_for(state="attached")
    page.locator("#id_opportunity").select_option(str(deal.pk))
    page.fill("input[name=title]", "PLM 实施合同")
    page.fill("input[name=amount]", "120000")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/sales/contracts/\d+/$"))
    assert no_horizontal_overflow(page)
    contract = Contract.objects.get(title="PLM 实施合同")
    assert contract.opportunity_id == deal.pk and contract.customer_id == customer.pk
    assert Opportunity.objects.get(pk=deal.pk).customer_id == customer.pk
