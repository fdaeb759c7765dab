"""Money-area API (DESIGN §5): contracts/, payment-plans/, payments/, invoices/.

Permission matrix for every mutating endpoint — anonymous, no permission, other department,
owner, manager (and finance / service where they are the ones who act) — asserting the status
and that nothing changed; field security; overpayment and over-invoicing as 400; exports."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from apps.sales.models import Contract, Invoice, Payment, PaymentPlan
from apps.sales.services import contracts_invoices as invoices
from apps.sales.services import contracts_payments as payments
from tests.customers.factories import CustomerFactory
from tests.sales.money_org import *  # noqa: F403
from tests.sales.money_org import active_contract, client_for, fresh

S = Contract.Status
D = Decimal
URL = "/api/v1/contracts/"


def _snapshot(contract):
    c = Contract.objects.get(pk=contract.pk)
    return (c.status, c.amount, c.title, c.delivery_status, c.received_amount, c.invoiced_amount)


# --- contracts: reads and field security -------------------------------------------------------


def test_list_fields_and_scope(money_org):
    mine = active_contract(money_org.rep)
    active_contract(money_org.rep_north)
    res = client_for(money_org.rep).get(URL)
    assert res.status_code == 200
    assert [r["id"] for r in res.data["results"]] == [mine.pk]
    row = res.data["results"][0]
    for key in (
        "id",
        "number",
        "customer",
        "opportunity",
        "title",
        "amount",
        "signed_date",
        "status",
        "delivery_status",
        "owner",
        "approval",
        "received_amount",
        "receivable_amount",
    ):
        assert key in row
    assert row["receivable_amount"] == "100000.00"
    assert client_for(money_org.director).get(URL).data["count"] == 2


def test_outside_scope_is_404(money_org):
    other = active_contract(money_org.rep_north)
    assert client_for(money_org.rep).get(f"{URL}{other.pk}/").status_code == 404
    assert client_for(money_org.rep).post(f"{URL}{other.pk}/submit/").status_code == 404


def test_service_sees_contracts_without_amounts(money_org):
    contract = active_contract(money_org.rep)
    client = client_for(money_org.service)
    row = client.get(f"{URL}{contract.pk}/").data
    assert row["delivery_status"] == "pending_review"
    for hidden in ("amount", "received_amount", "receivable_amount", "invoiced_amount"):
        assert hidden not in row
    assert client.get(URL, {"amount__gte": "1"}).status_code == 400
    assert client.get(URL, {"ordering": "-amount"}).status_code == 400


def test_unauthenticated_is_401_or_403(money_org):
    assert client_for(None).get(URL).status_code in (401, 403)


# --- contracts: create / update / delete matrix ------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anon", 401), ("nobody", 403), ("service", 403), ("finance", 403), ("rep", 201)],
)
def test_create_matrix(money_org, who, status):
    customer = CustomerFactory(owner=money_org.rep)
    user = None if who == "anon" else getattr(money_org, who)
    res = client_for(user).post(
        URL, {"customer": customer.pk, "title": "新合同", "amount": "1000.50"}, format="json"
    )
    assert res.status_code in ((401, 403) if who == "anon" else (status,))
    assert Contract.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        assert res.data["number"].startswith("HT-") and res.data["status"] == "draft"
        assert res.data["amount"] == "1000.50" and res.data["owner"] == money_org.rep.pk


def test_create_bad_input_is_400(money_org):
    customer = CustomerFactory(owner=money_org.rep)
    client = client_for(money_org.rep)
    for body in (
        {"customer": customer.pk, "title": "x", "amount": "abc"},
        {"customer": customer.pk, "title": "x", "amount": "-1"},
        {"customer": 999999, "title": "x", "amount": "1"},
        {"customer": customer.pk, "title": "", "amount": "1"},
        {
            "customer": customer.pk,
            "title": "x",
            "amount": "1",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
    ):
        assert client.post(URL, body, format="json").status_code == 400, body
    assert Contract.objects.count() == 0


def test_service_cannot_write_hidden_amount(money_org):
    contract = active_contract(money_org.rep, status=S.DRAFT)
    res = client_for(money_org.service).patch(
        f"{URL}{contract.pk}/", {"amount": "1"}, format="json"
    )
    assert res.status_code in (400, 403)
    assert _snapshot(contract)[1] == D("100000.00")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 404),
        ("rep_peer", 404),
        ("rep_north", 404),
        ("service", 403),
        ("rep", 200),
        ("director", 200),
    ],
)
def test_update_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, status=S.DRAFT)
    before = _snapshot(contract)
    res = client_for(getattr(money_org, who)).patch(
        f"{URL}{contract.pk}/", {"title": "改名"}, format="json"
    )
    assert res.status_code == status
    after = _snapshot(contract)
    assert (after[2] == "改名") == (status == 200)
    if status != 200:
        assert after == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("nobody", 404), ("rep_peer", 404), ("finance", 403), ("rep", 204), ("director", 204)],
)
def test_delete_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, status=S.DRAFT)
    res = client_for(getattr(money_org, who)).delete(f"{URL}{contract.pk}/")
    assert res.status_code == status
    assert Contract.objects.filter(pk=contract.pk).exists() == (status != 204)


def test_approved_contract_cannot_be_deleted(money_org):
    contract = active_contract(money_org.rep, status=S.APPROVED)
    assert client_for(money_org.rep).delete(f"{URL}{contract.pk}/").status_code == 409
    assert Contract.objects.filter(pk=contract.pk).exists()


# --- contracts: actions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anon", 401),
        ("nobody", 404),
        ("rep_peer", 404),
        ("rep_north", 404),
        ("service", 403),
        ("finance", 403),
        ("rep", 200),
        ("director", 200),
    ],
)
def test_submit_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, status=S.DRAFT)
    user = None if who == "anon" else getattr(money_org, who)
    res = client_for(user).post(f"{URL}{contract.pk}/submit/")
    assert res.status_code in ((401, 403) if who == "anon" else (status,))
    contract.refresh_from_db()
    if status == 200:
        assert res.data["status"] == "pending" and res.data["approval"] == contract.approval_id
    else:
        assert contract.status == S.DRAFT and contract.approval_id is None


@pytest.mark.parametrize(
    ("who", "status"),
    [("nobody", 404), ("rep", 403), ("director", 403), ("service", 200)],
)
def test_delivery_matrix(money_org, who, status):
    contract = active_contract(money_org.rep)
    res = client_for(getattr(money_org, who)).post(
        f"{URL}{contract.pk}/delivery/", {"delivery_status": "shipped"}, format="json"
    )
    assert res.status_code == status
    contract.refresh_from_db()
    assert (contract.delivery_status == "shipped") == (status == 200)


def test_delivery_bad_value_400(money_org):
    contract = active_contract(money_org.rep)
    res = client_for(money_org.service).post(
        f"{URL}{contract.pk}/delivery/", {"delivery_status": "lost"}, format="json"
    )
    assert res.status_code == 400 and "delivery_status" in res.data


@pytest.mark.parametrize(
    ("action", "frm", "to", "body"),
    [
        ("sign", S.APPROVED, S.SIGNED, {}),
        ("start", S.SIGNED, S.EXECUTING, {}),
        ("complete", S.EXECUTING, S.COMPLETED, {}),
        ("terminate", S.SIGNED, S.TERMINATED, {"reason": "客户取消"}),
    ],
)
def test_status_actions(money_org, action, frm, to, body):
    contract = active_contract(money_org.rep, status=frm)
    assert (
        client_for(money_org.rep_peer)
        .post(f"{URL}{contract.pk}/{action}/", body, format="json")
        .status_code
        == 404
    )
    assert (
        client_for(money_org.finance)
        .post(f"{URL}{contract.pk}/{action}/", body, format="json")
        .status_code
        == 403
    )
    contract.refresh_from_db()
    assert contract.status == frm
    res = client_for(money_org.rep).post(f"{URL}{contract.pk}/{action}/", body, format="json")
    assert res.status_code == 200 and res.data["status"] == to
    again = client_for(money_org.rep).post(f"{URL}{contract.pk}/{action}/", body, format="json")
    assert again.status_code == 409


# --- payments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anon", 401),
        ("nobody", 403),
        ("rep", 403),
        ("director", 403),
        ("service", 403),
        ("finance", 201),
    ],
)
def test_payment_create_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, amount="1000.00")
    user = None if who == "anon" else getattr(money_org, who)
    res = client_for(user).post(
        "/api/v1/payments/",
        {"contract": contract.pk, "amount": "250.00", "method": "bank_transfer"},
        format="json",
    )
    assert res.status_code in ((401, 403) if who == "anon" else (status,))
    contract.refresh_from_db()
    assert contract.received_amount == (D("250.00") if status == 201 else D("0.00"))
    assert Payment.objects.count() == (1 if status == 201 else 0)


def test_overpayment_is_400_naming_amount(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    client = client_for(money_org.finance)
    body = {"contract": contract.pk, "amount": "1000.01", "method": "cash"}
    res = client.post("/api/v1/payments/", body, format="json")
    assert res.status_code == 400 and "amount" in res.data
    assert "Overpayment" in res.data["amount"][0]
    contract.refresh_from_db()
    assert contract.received_amount == D("0.00")
    assert (
        client.post("/api/v1/payments/", {**body, "amount": "x"}, format="json").status_code == 400
    )
    assert (
        client.post("/api/v1/payments/", {**body, "method": "gold"}, format="json").status_code
        == 400
    )


def test_payments_are_not_edited_and_delete_needs_permission(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    payment = payments.payment_record(
        contract=contract, by=fresh(money_org.finance), data={"amount": "100"}
    )
    url = f"/api/v1/payments/{payment.pk}/"
    assert (
        client_for(money_org.finance).patch(url, {"amount": "1"}, format="json").status_code == 405
    )
    assert client_for(money_org.rep).delete(url).status_code == 403
    assert client_for(money_org.rep_peer).delete(url).status_code == 404
    assert Payment.objects.filter(pk=payment.pk).exists()
    assert client_for(money_org.finance).delete(url).status_code == 204
    contract.refresh_from_db()
    assert contract.received_amount == D("0.00")


def test_payment_list_fields(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    payments.payment_record(contract=contract, by=fresh(money_org.finance), data={"amount": "100"})
    row = client_for(money_org.rep).get("/api/v1/payments/").data["results"][0]
    assert {"id", "contract", "amount", "received_at", "method"} <= set(row)
    assert client_for(money_org.rep_peer).get("/api/v1/payments/").data["count"] == 0


# --- payment plans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 403),
        ("service", 403),
        ("rep_peer", 400),
        ("rep", 201),
        ("director", 201),
        ("finance", 201),
    ],
)
def test_plan_create_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, amount="1000.00")
    res = client_for(getattr(money_org, who)).post(
        "/api/v1/payment-plans/",
        {"contract": contract.pk, "due_date": "2027-01-31", "amount": "500"},
        format="json",
    )
    assert res.status_code == status
    assert PaymentPlan.objects.count() == (1 if status == 201 else 0)


def test_plan_over_amount_400(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    res = client_for(money_org.rep).post(
        "/api/v1/payment-plans/",
        {"contract": contract.pk, "due_date": "2027-01-31", "amount": "1000.01"},
        format="json",
    )
    assert res.status_code == 400 and "amount" in res.data


# --- invoices ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("nobody", 403), ("service", 403), ("rep_peer", 400), ("rep", 201), ("finance", 201)],
)
def test_invoice_request_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, amount="1000.00")
    res = client_for(getattr(money_org, who)).post(
        "/api/v1/invoices/", {"contract": contract.pk, "amount": "600"}, format="json"
    )
    assert res.status_code == status
    contract.refresh_from_db()
    assert contract.invoiced_amount == (D("600.00") if status == 201 else D("0.00"))
    if status == 201:
        assert res.data["status"] == "requested"


def test_over_invoicing_is_400(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    invoices.invoice_request(contract=contract, by=fresh(money_org.rep), data={"amount": "900"})
    res = client_for(money_org.rep).post(
        "/api/v1/invoices/", {"contract": contract.pk, "amount": "100.01"}, format="json"
    )
    assert res.status_code == 400 and "Over-invoicing" in res.data["amount"][0]


@pytest.mark.parametrize(
    ("who", "status"), [("nobody", 404), ("rep", 403), ("director", 403), ("finance", 200)]
)
def test_issue_matrix(money_org, who, status):
    contract = active_contract(money_org.rep, amount="1000.00")
    invoice = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "100"}
    )
    res = client_for(getattr(money_org, who)).post(
        f"/api/v1/invoices/{invoice.pk}/issue/", {"invoice_number": "044001"}, format="json"
    )
    assert res.status_code == status
    invoice.refresh_from_db()
    assert (invoice.status == Invoice.Status.ISSUED) == (status == 200)


def test_reject_by_finance(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    invoice = invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "100"}
    )
    url = f"/api/v1/invoices/{invoice.pk}/reject/"
    assert client_for(money_org.finance).post(url, {}, format="json").status_code == 400
    assert client_for(money_org.rep).post(url, {"reason": "x"}, format="json").status_code == 403
    res = client_for(money_org.finance).post(url, {"reason": "税号错误"}, format="json")
    assert res.status_code == 200 and res.data["status"] == "rejected"
    contract.refresh_from_db()
    assert contract.invoiced_amount == D("0.00")


# --- aging ------------------------------------------------------------------------------------


def test_aging_api(money_org):
    active_contract(money_org.rep, amount="1000.00")
    res = client_for(money_org.finance).get(f"{URL}aging/", {"by": "owner"})
    assert res.status_code == 200
    assert [b["key"] for b in res.data["buckets"]] == [
        "current",
        "d0_30",
        "d31_60",
        "d61_90",
        "d90_plus",
    ]
    assert res.data["total"]["total"] == "1000.00"
    assert client_for(money_org.finance).get(f"{URL}aging/", {"by": "x"}).status_code == 400
    assert client_for(money_org.service).get(f"{URL}aging/").status_code == 403


# --- exports ----------------------------------------------------------------------------------


def _sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows())
    return [c.value for c in rows[0]], rows[1:]


def test_contract_export_escapes_formulas_and_keeps_money_numeric(money_org):
    active_contract(money_org.rep, amount="1234.50", title='=HYPERLINK("http://x","y")')
    active_contract(money_org.rep, amount="99.00", title="-2+3", status=S.DRAFT)
    res = client_for(money_org.director).get(f"{URL}export/", {"status": "executing"})
    headers, rows = _sheet(res)
    assert len(rows) == 1
    cells = {h: c for h, c in zip(headers, rows[0], strict=True)}
    assert cells["title"].value == '\'=HYPERLINK("http://x","y")'
    assert cells["amount"].value == 1234.5 and cells["amount"].number_format == "0.00"
    assert cells["receivable"].value == 1234.5 and cells["receivable"].data_type == "n"
    res = client_for(money_org.director).get(f"{URL}export/", {"status": "draft"})
    _headers, rows = _sheet(res)
    assert rows[0][1].value == "'-2+3"


def test_export_honours_field_security_and_permission(money_org):
    from apps.org.models import Scope
    from tests.org.factories import make_role

    active_contract(money_org.rep)
    assert client_for(money_org.rep).get(f"{URL}export/").status_code == 403
    # service with the export permission still gets no amount columns
    make_role(
        "svc-export",
        Contract,
        actions=("view",),
        codenames=("export_contract",),
        scope=Scope.ALL,
        members=[money_org.service],
    )
    headers, rows = _sheet(client_for(money_org.service).get(f"{URL}export/"))
    assert len(rows) == 1
    assert "amount" not in headers and "received" not in headers and "receivable" not in headers
    assert "delivery status" in headers


def test_payment_and_invoice_exports(money_org):
    contract = active_contract(money_org.rep, amount="1000.00")
    payments.payment_record(
        contract=contract,
        by=fresh(money_org.finance),
        data={"amount": "100.10", "reference": "@SUM(A1)"},
    )
    invoices.invoice_request(
        contract=contract, by=fresh(money_org.rep), data={"amount": "50", "title": "+cmd"}
    )
    headers, rows = _sheet(
        client_for(money_org.finance).get("/api/v1/payments/export/", {"method": "bank_transfer"})
    )
    cells = dict(zip(headers, rows[0], strict=True))
    assert cells["amount"].value == 100.1 and cells["amount"].number_format == "0.00"
    assert cells["reference"].value == "'@SUM(A1)"
    headers, rows = _sheet(client_for(money_org.finance).get("/api/v1/invoices/export/"))
    cells = dict(zip(headers, rows[0], strict=True))
    assert cells["invoice title (抬头)"].value == "'+cmd"
    assert client_for(money_org.rep).get("/api/v1/payments/export/").status_code == 403
    assert client_for(money_org.rep).get("/api/v1/invoices/export/").status_code == 403
