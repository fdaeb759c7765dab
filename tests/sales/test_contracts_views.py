"""Money-area pages: query counts on every list and detail page (constant with more rows),
the status flow through the pages, forms with errors, field security on pages and the 360°
panel, exports from the list pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.customers.models import Ticket
from apps.sales.models import Contract, Invoice, PaymentPlan
from apps.sales.services import contracts_invoices as invoices
from apps.sales.services import contracts_payments as payments
from tests.customers.factories import CustomerFactory
from tests.sales.money_org import *  # noqa: F403
from tests.sales.money_org import active_contract, fresh

S = Contract.Status
D = Decimal


def login(client, user):
    client.force_login(user)
    return client


def count_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200, res.status_code
    return len(ctx.captured_queries)


def _money(contract, finance, n=1):
    today = timezone.localdate()
    for i in range(n):
        PaymentPlan.objects.create(
            contract=contract, seq=i + 1, due_date=today - dt.timedelta(days=i), amount=D("100")
        )
        payments.payment_record(contract=contract, by=fresh(finance), data={"amount": "50"})
        invoices.invoice_request(contract=contract, by=fresh(finance), data={"amount": "10"})


def _contracts(org, n):
    made = []
    for _i in range(n):
        c = active_contract(org.rep, amount="10000.00")
        _money(c, org.finance)
        Ticket.objects.create(customer=c.customer, title="故障", contract_id=c.pk)
        made.append(c)
    return made


@pytest.mark.parametrize(
    "url", ["/sales/contracts/", "/sales/payments/", "/sales/invoices/", "/sales/contracts/aging/"]
)
def test_list_pages_query_count_constant(client, money_org, url):
    _contracts(money_org, 2)
    login(client, money_org.director)
    few = count_queries(client, url)
    _contracts(money_org, 6)
    assert count_queries(client, url) == few
    shell = count_queries(client, "/search/")
    assert few - shell <= 8, (few, shell)


def test_contract_detail_query_count_constant(client, money_org):
    contract = active_contract(money_org.rep, amount="10000.00")
    _money(contract, money_org.finance, 1)
    login(client, money_org.rep)
    url = f"/sales/contracts/{contract.pk}/"
    few = count_queries(client, url)
    _money_more = [
        (
            i,
            Ticket.objects.create(
                customer=contract.customer, title=f"t{i}", contract_id=contract.pk
            ),
        )
        for i in range(5)
    ]
    today = timezone.localdate()
    for i in range(5):
        PaymentPlan.objects.create(contract=contract, seq=10 + i, due_date=today, amount=D("100"))
        payments.payment_record(
            contract=contract, by=fresh(money_org.finance), data={"amount": "20"}
        )
        invoices.invoice_request(
            contract=contract, by=fresh(money_org.finance), data={"amount": "5"}
        )
    assert count_queries(client, url) == few
    shell = count_queries(client, "/search/")
    assert few - shell <= 14, (few, shell)


def test_invoice_detail_query_count(client, money_org):
    contract = active_contract(money_org.rep)
    invoice = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "1"}
    )
    login(client, money_org.finance)
    n = count_queries(client, f"/sales/invoices/{invoice.pk}/")
    shell = count_queries(client, "/search/")
    assert n - shell <= 6, (n, shell)


def test_customer_360_panel_constant_and_secured(client, money_org):
    customer = CustomerFactory(owner=money_org.rep)
    c = active_contract(money_org.rep, customer=customer, amount="4321.00")
    Ticket.objects.create(customer=customer, title="安装故障", contract_id=c.pk)
    url = f"/customers/{customer.pk}/"
    login(client, money_org.rep)
    few = count_queries(client, url)
    for _i in range(4):
        more = active_contract(money_org.rep, customer=customer)
        Ticket.objects.create(customer=customer, title="x", contract_id=more.pk)
    assert count_queries(client, url) == few
    page = client.get(url).content.decode()
    assert 'data-panel="contracts"' in page and "4321.00" in page and "安装故障" in page
    login(client, money_org.service)
    page = client.get(url).content.decode()
    assert c.number in page and 'data-delivery="pending_review"' in page
    assert "4321.00" not in page


def test_service_sees_no_amounts_and_can_set_delivery(client, money_org):
    contract = active_contract(money_org.rep, amount="8765.00")
    login(client, money_org.service)
    page = client.get(f"/sales/contracts/{contract.pk}/").content.decode()
    assert "8765.00" not in page and 'data-section="delivery"' in page
    assert "8765.00" not in client.get("/sales/contracts/").content.decode()
    res = client.post(f"/sales/contracts/{contract.pk}/delivery/", {"delivery_status": "delivered"})
    assert res.status_code == 302
    contract.refresh_from_db()
    assert contract.delivery_status == "delivered"
    assert client.get("/sales/contracts/aging/").status_code == 403


def test_outside_scope_pages_are_404(client, money_org):
    contract = active_contract(money_org.rep_north)
    login(client, money_org.rep)
    assert client.get(f"/sales/contracts/{contract.pk}/").status_code == 404
    assert client.post(f"/sales/contracts/{contract.pk}/submit/").status_code == 404
    login(client, money_org.nobody)
    assert client.get("/sales/contracts/").status_code == 403


def test_create_submit_through_pages(client, money_org):
    customer = CustomerFactory(owner=money_org.rep)
    login(client, money_org.rep)
    assert client.get(f"/sales/contracts/new/?customer={customer.pk}").status_code == 200
    res = client.post(
        "/sales/contracts/new/",
        {
            "customer": customer.pk,
            "title": "页面合同",
            "amount": "12000",
            "owner": money_org.rep.pk,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    contract = Contract.objects.get(title="页面合同")
    assert contract.amount == D("12000.00")
    client.post(f"/sales/contracts/{contract.pk}/submit/")
    contract.refresh_from_db()
    assert contract.status == S.PENDING


def test_form_errors_shown_not_500(client, money_org):
    customer = CustomerFactory(owner=money_org.rep)
    login(client, money_org.rep)
    res = client.post(
        "/sales/contracts/new/",
        {
            "customer": customer.pk,
            "title": "x",
            "amount": "1",
            "start_date": "2026-05-02",
            "end_date": "2026-05-01",
        },
    )
    assert res.status_code == 200 and "before the start date" in res.content.decode()
    assert Contract.objects.count() == 0


def test_overpayment_on_page_is_a_form_error(client, money_org):
    contract = active_contract(money_org.rep, amount="100.00")
    login(client, money_org.finance)
    url = f"/sales/contracts/{contract.pk}/payments/new/"
    assert client.get(url).status_code == 200
    res = client.post(
        url, {"amount": "100.01", "received_at": timezone.localdate().isoformat(), "method": "cash"}
    )
    assert res.status_code == 200 and "Overpayment" in res.content.decode()
    res = client.post(
        url, {"amount": "100.00", "received_at": timezone.localdate().isoformat(), "method": "cash"}
    )
    assert res.status_code == 302
    contract.refresh_from_db()
    assert contract.received_amount == D("100.00")
    login(client, money_org.rep)
    assert client.get(url).status_code == 403


def test_invoice_request_and_issue_pages(client, money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    login(client, money_org.rep)
    res = client.post(
        f"/sales/contracts/{contract.pk}/invoices/new/",
        {"kind": "vat_ordinary", "title": "", "amount": "1000.01"},
    )
    assert res.status_code == 200 and "Over-invoicing" in res.content.decode()
    res = client.post(
        f"/sales/contracts/{contract.pk}/invoices/new/",
        {"kind": "vat_ordinary", "title": "", "amount": "500"},
    )
    assert res.status_code == 302
    invoice = Invoice.objects.get()
    client.post(f"/sales/invoices/{invoice.pk}/issue/", {"invoice_number": "1"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REQUESTED  # the rep may not issue
    login(client, money_org.finance)
    client.post(f"/sales/invoices/{invoice.pk}/issue/", {"invoice_number": "0440012"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED and invoice.invoice_number == "0440012"


def test_plan_add_and_delete_pages(client, money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    login(client, money_org.rep)
    client.post(
        f"/sales/contracts/{contract.pk}/plans/new/", {"due_date": "2027-03-01", "amount": "400"}
    )
    plan = PaymentPlan.objects.get()
    login(client, money_org.rep_peer)
    assert client.post(f"/sales/plans/{plan.pk}/delete/").status_code == 404
    login(client, money_org.rep)
    client.post(f"/sales/plans/{plan.pk}/delete/")
    assert not PaymentPlan.objects.exists()


def test_plan_edit_page(client, money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    login(client, money_org.rep)
    client.post(
        f"/sales/contracts/{contract.pk}/plans/new/", {"due_date": "2027-03-01", "amount": "400"}
    )
    client.post(
        f"/sales/contracts/{contract.pk}/plans/new/", {"due_date": "2027-06-01", "amount": "600"}
    )
    first, second = PaymentPlan.objects.order_by("seq")
    url = f"/sales/plans/{first.pk}/edit/"
    assert url in client.get(f"/sales/contracts/{contract.pk}/").content.decode()
    assert client.get(url).status_code == 200
    # over the contract amount together with the other instalment: a form error, no change
    res = client.post(url, {"due_date": "2027-04-01", "amount": "500"})
    assert res.status_code == 200 and "exceed" in res.content.decode()
    first.refresh_from_db()
    assert str(first.amount) == "400.00" and str(first.due_date) == "2027-03-01"
    res = client.post(url, {"due_date": "2027-04-01", "amount": "300", "note": "首付"})
    assert res.status_code == 302
    first.refresh_from_db()
    assert (str(first.amount), str(first.due_date), first.note) == ("300.00", "2027-04-01", "首付")
    # bad input is a form error; another department's rep gets 404; no change either way
    assert client.post(url, {"due_date": "soon", "amount": "x"}).status_code == 200
    login(client, money_org.rep_peer)
    assert client.post(url, {"due_date": "2027-05-01", "amount": "1"}).status_code == 404
    first.refresh_from_db()
    assert str(first.amount) == "300.00"


def test_page_exports_use_list_filters(client, money_org):
    active_contract(money_org.rep, title="执行中")
    active_contract(money_org.rep, title="草稿", status=S.DRAFT)
    login(client, money_org.director)
    res = client.get("/sales/contracts/export/?status=draft")
    assert res.status_code == 200
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(res.content)).active
    titles = [r[1].value for r in ws.iter_rows(min_row=2)]
    assert titles == ["草稿"]
    login(client, money_org.rep)
    assert client.get("/sales/contracts/export/").status_code == 403
    login(client, money_org.finance)
    assert client.get("/sales/payments/export/").status_code == 200
    assert client.get("/sales/invoices/export/").status_code == 200


def test_phone_layout_markers(client, money_org):
    """The pages use the shell's responsive pieces (toolbar, stacked list rows, scrolling
    tables), so they stay usable at phone width."""
    contract = active_contract(money_org.rep)
    login(client, money_org.rep)
    page = client.get("/sales/contracts/").content.decode()
    assert "weft-toolbar" in page and "list-group" in page
    page = client.get(f"/sales/contracts/{contract.pk}/").content.decode()
    assert "col-lg-8" in page


def _deal_viewers(money_org):
    """The reps and the director also work with deals (own / department tree)."""
    from apps.org.models import Scope
    from apps.sales.models import Opportunity
    from tests.org.factories import make_role

    make_role(
        "deal reps",
        Opportunity,
        actions=("view", "change"),
        scope=Scope.OWN,
        members=[money_org.rep, money_org.rep_peer],
    )
    make_role(
        "deal bosses",
        Opportunity,
        actions=("view",),
        scope=Scope.TREE,
        members=[money_org.director],
    )


def test_won_deal_page_offers_a_contract_prefilled_from_the_deal(client, money_org):
    """Issue #9 journey: a won deal's page has "New contract"; the form starts from the deal
    (its customer, linked deal, name and amount) and the saved contract is linked to it."""
    from apps.sales.models import Opportunity
    from tests.sales.factories import OpportunityFactory

    _deal_viewers(money_org)
    deal = OpportunityFactory(
        owner=money_org.rep, name="云栖 MES 项目", amount=D("680000"), status=Opportunity.Status.WON
    )
    login(client, money_org.rep)
    page = client.get(f"/sales/opportunities/{deal.pk}/").content.decode()
    assert f'href="/sales/contracts/new/?opportunity={deal.pk}"' in page
    form = client.get(f"/sales/contracts/new/?opportunity={deal.pk}").context["form"]
    assert form.initial["customer"] == deal.customer_id
    assert form.initial["opportunity"] == deal.pk
    assert form.initial["title"] == "云栖 MES 项目" and form.initial["amount"] == D("680000")
    assert list(form.fields["opportunity"].queryset) == [deal]
    res = client.post(
        "/sales/contracts/new/",
        {
            "customer": deal.customer_id,
            "opportunity": deal.pk,
            "title": "云栖 MES 项目",
            "amount": "680000",
            "owner": money_org.rep.pk,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    assert Contract.objects.get(opportunity=deal).customer_id == deal.customer_id


def test_new_contract_button_only_for_those_who_may_and_not_on_a_lost_deal(client, money_org):
    from apps.sales.models import Opportunity
    from tests.sales.factories import OpportunityFactory

    _deal_viewers(money_org)
    lost = OpportunityFactory(owner=money_org.rep, status=Opportunity.Status.LOST)
    won = OpportunityFactory(owner=money_org.rep, status=Opportunity.Status.WON)
    login(client, money_org.rep)
    assert (
        "data-new-contract" not in client.get(f"/sales/opportunities/{lost.pk}/").content.decode()
    )
    # The director sees the deal (department tree) but the rep's role alone adds contracts:
    # take "add contract" away from the director's roles and the button goes.
    login(client, money_org.director)
    assert "data-new-contract" in client.get(f"/sales/opportunities/{won.pk}/").content.decode()
    for role in money_org.director.groups.all():
        role.permissions.remove(*role.permissions.filter(codename="add_contract"))
    from tests.sales.money_org import fresh

    client.force_login(fresh(money_org.director))
    assert "data-new-contract" not in client.get(f"/sales/opportunities/{won.pk}/").content.decode()


def test_new_contract_from_a_deal_out_of_scope_starts_empty(client, money_org):
    """Another rep's deal id in the address prefills nothing (no customer, name or amount)."""
    from tests.sales.factories import OpportunityFactory

    _deal_viewers(money_org)
    other = OpportunityFactory(owner=money_org.rep_peer, name="别人的商机", amount=D("99000"))
    login(client, money_org.rep)
    res = client.get(f"/sales/contracts/new/?opportunity={other.pk}")
    assert res.status_code == 200
    assert res.context["form"].initial.get("opportunity") is None
    assert "别人的商机" not in res.content.decode() and res.context["customer"] is None


def test_new_contract_deal_field_follows_the_picked_customer(client, money_org):
    """The deal field is on the form before a customer is picked (empty), and the page for a
    customer lists that customer's deals only: the form's htmx reload swaps it in."""
    from tests.sales.factories import OpportunityFactory

    _deal_viewers(money_org)
    deal = OpportunityFactory(owner=money_org.rep, name="华东 ERP 项目")
    OpportunityFactory(owner=money_org.rep, name="另一个客户的商机")
    login(client, money_org.rep)
    blank = client.get("/sales/contracts/new/")
    assert list(blank.context["form"].fields["opportunity"].queryset) == []
    html = blank.content.decode()
    assert 'id="id_opportunity"' in html and 'hx-select="#id_opportunity"' in html
    picked = client.get(f"/sales/contracts/new/?customer={deal.customer_id}")
    assert list(picked.context["form"].fields["opportunity"].queryset) == [deal]
    assert "华东 ERP 项目" in picked.content.decode()
    assert "另一个客户的商机" not in picked.content.decode()
    # A deal of another customer is refused on save (field error, nothing created).
    other = OpportunityFactory(owner=money_org.rep)
    res = client.post(
        "/sales/contracts/new/",
        {"customer": deal.customer_id, "opportunity": other.pk, "title": "x", "amount": "1"},
    )
    assert res.status_code == 200 and res.context["form"].errors.get("opportunity")
    assert not Contract.objects.exists()
