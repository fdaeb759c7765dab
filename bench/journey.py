"""Acceptance journey over HTTP against a running stack (bench/stack.py), as the demo users.

    .venv/bin/python bench/journey.py [http://127.0.0.1:8105]

sales1 creates a lead in 上海 (the 华东 territory routes it to sales1) → converts it into
customer + contact + opportunity → moves the deal to the won stage → writes a 600,000 contract
and submits it → sales_director and then ceo approve it (the `contract` chain for ≥ 500,000)
→ the demo automation rule "合同审批通过" runs in a real Celery worker: an "Onboard <customer>"
task for `service` and a notification to finance → finance records a payment → the sales
leaderboard (API and page) shows the won deal, the contract and the payment for sales1; the
customer's 360° page (signed-in session) shows the contract.

Every step checks status codes and the data that came back; the first failure raises
`JourneyError` naming the step. `run()` returns the step timings.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests

PASSWORD = "demo1234"  # noqa: S105 - the demo company's documented password (DESIGN §6)
CONTRACT_AMOUNT = Decimal("600000.00")  # ≥ 500,000: sales_director then ceo
PAYMENT = Decimal("200000.00")
SERVER_TZ = ZoneInfo("Asia/Shanghai")  # the demo's TIME_ZONE: "today" as the server sees it


def today() -> dt.date:
    return dt.datetime.now(SERVER_TZ).date()


class JourneyError(AssertionError):
    pass


class Api:
    """One demo user's API session (token auth)."""

    def __init__(self, base: str, username: str):
        self.base = base.rstrip("/")
        self.username = username
        self.http = requests.Session()
        res = self.http.post(
            f"{self.base}/api/v1/auth/token/",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        expect(res, 200, f"token for {username}")
        self.http.headers["Authorization"] = f"Token {res.json()['token']}"

    def call(self, method: str, path: str, expected: int = 200, **kwargs) -> dict:
        res = self.http.request(method, f"{self.base}/api/v1/{path}", timeout=60, **kwargs)
        expect(res, expected, f"{self.username} {method} {path}")
        return res.json() if res.content else {}

    def get(self, path: str, **params) -> dict:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict | None = None, expected: int = 200) -> dict:
        return self.call("POST", path, expected, json=body or {})


def expect(res: requests.Response, status: int, what: str) -> None:
    if res.status_code != status:
        raise JourneyError(f"{what}: expected {status}, got {res.status_code}: {res.text[:500]}")


def check(ok: bool, what: str) -> None:
    if not ok:
        raise JourneyError(what)


def wait_for(what: str, probe, timeout: float = 90, every: float = 1.0):
    """Poll `probe()` until it returns something truthy (work done by the worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise JourneyError(f"{what}: not seen within {timeout:.0f}s")


def leaderboard_row(api: Api, person: str) -> dict:
    report = api.get("reports/leaderboard/", period="this_month")
    rows = report["sections"][0]["rows"]
    return next((r for r in rows if r["person"] == person), {})


def session_login(base: str, username: str) -> requests.Session:
    """A browser-like session: GET the login page for the CSRF token, POST the form."""
    web = requests.Session()
    page = web.get(f"{base}/accounts/login/", timeout=30)
    expect(page, 200, "login page")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    check(token is not None, "login page has a CSRF token")
    res = web.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    check(res.status_code == 302, f"{username} signs in (got {res.status_code})")
    return web


def run(base: str = "http://127.0.0.1:8105", *, tag: str | None = None, log=print) -> dict:
    base = base.rstrip("/")
    tag = tag or time.strftime("%m%d%H%M%S")
    timings: dict[str, float] = {}
    t_start = time.monotonic()

    def step(name: str) -> None:
        timings[name] = round(time.monotonic() - t_start, 2)
        log(f"  {timings[name]:7.2f}s  {name}")

    sales1, director, ceo = Api(base, "sales1"), Api(base, "sales_director"), Api(base, "ceo")
    finance, service = Api(base, "finance"), Api(base, "service")
    users = {u["username"]: u for u in ceo.get("users/", page_size=100)["results"]}
    sales1_id, service_id = users["sales1"]["id"], users["service"]["id"]
    person = users["sales1"]["display_name"]
    before = leaderboard_row(ceo, person)
    step("signed in as sales1, sales_director, ceo, finance, service")

    company = f"系统验收{tag}科技有限公司"
    mobile = f"139{int(tag[-8:]) % 10**8:08d}"
    lead = sales1.post(
        "leads/",
        {
            "company": company,
            "contact_name": "验收联系人",
            "mobile": mobile,
            "province": "上海",
            "industry": "manufacturing",
            "description": "production-stack acceptance journey",
        },
        expected=201,
    )
    check(lead["owner"] == sales1_id, f"lead in 上海 routed to sales1 (owner {lead['owner']})")
    step("lead created and routed to sales1 by the 华东 territory")

    stages = sales1.get("stages/", page_size=100)["results"]
    pipeline = min(s["pipeline"] for s in stages)
    first = min((s for s in stages if s["pipeline"] == pipeline), key=lambda s: s["order"])
    won = next(s for s in stages if s["pipeline"] == pipeline and s["is_won"])
    converted = sales1.post(
        f"leads/{lead['id']}/convert/",
        {
            "opportunity": {
                "pipeline": pipeline,
                "stage": first["id"],
                "name": f"{company} 年度框架",
                "amount": str(CONTRACT_AMOUNT),
                "expected_close_date": (today() + dt.timedelta(days=30)).isoformat(),
            }
        },
    )
    check(
        all(converted.get(k) for k in ("customer", "contact", "opportunity")),
        f"conversion made customer, contact and opportunity: {converted}",
    )
    customer_id, opp_id = converted["customer"], converted["opportunity"]
    check(sales1.get(f"leads/{lead['id']}/")["status"] == "converted", "lead is converted")
    step("lead converted into customer + contact + opportunity")

    moved = sales1.post(f"opportunities/{opp_id}/move/", {"stage": won["id"]})
    check(moved["status"] == "won", f"deal is won after the move (status {moved['status']})")
    step("deal moved to the won stage")

    contract = sales1.post(
        "contracts/",
        {
            "customer": customer_id,
            "opportunity": opp_id,
            "title": f"{company} 年度采购合同",
            "amount": str(CONTRACT_AMOUNT),
            "signed_date": today().isoformat(),
        },
        expected=201,
    )
    check(contract["status"] == "draft", "a new contract is a draft")
    submitted = sales1.post(f"contracts/{contract['id']}/submit/")
    check(submitted["status"] == "pending", f"submitted contract pending ({submitted['status']})")
    approval_id = submitted["approval"]
    check(bool(approval_id), "the contract has an approval")
    step(f"contract {contract['number']} created and submitted for approval")

    def approve_as(api: Api) -> None:
        def my_task():
            tasks = api.get("approval-tasks/", page_size=100)["results"]
            return next((t for t in tasks if t["approval"] == approval_id), None)

        task = wait_for(f"{api.username}'s approval task", my_task, timeout=30)
        api.post(f"approval-tasks/{task['id']}/approve/", {"comment": "同意（系统验收）"})

    approve_as(director)
    check(
        sales1.get(f"contracts/{contract['id']}/")["status"] == "pending",
        "still pending after the director: ≥ 500,000 also needs the ceo",
    )
    step("sales_director approved (first step)")
    approve_as(ceo)
    approved = sales1.get(f"contracts/{contract['id']}/")
    check(approved["status"] == "approved", f"contract approved ({approved['status']})")
    approval = sales1.get(f"approvals/{approval_id}/")
    check(approval["status"] == "approved", "approval request approved")
    step("ceo approved: contract approved")

    # The demo rule runs in a Celery worker (outbox event → evaluate → actions), not in the web.
    onboard = f"Onboard {company}"
    task = wait_for(
        "automation: 'Onboard' task for service",
        lambda: next(
            (
                t
                for t in service.get("tasks/", search=company, view="mine", page_size=50)["results"]
                if t["title"] == onboard
            ),
            None,
        ),
    )
    check(task["assignee"] == service_id, "the onboarding task is assigned to service")
    wait_for(
        "automation: finance notified",
        lambda: any(
            contract["number"] in (n.get("message") or "")
            for n in finance.get("notifications/", page_size=50)["results"]
        ),
    )
    step("automation ran in the worker: task for service, finance notified")

    payment = finance.post(
        "payments/",
        {
            "contract": contract["id"],
            "amount": str(PAYMENT),
            "received_at": today().isoformat(),
            "method": "bank_transfer",
            "reference": f"JOURNEY-{tag}",
        },
        expected=201,
    )
    after_pay = finance.get(f"contracts/{contract['id']}/")
    check(
        Decimal(after_pay["received_amount"]) == PAYMENT
        and Decimal(after_pay["receivable_amount"]) == CONTRACT_AMOUNT - PAYMENT,
        f"contract received {after_pay['received_amount']}, receivable "
        f"{after_pay['receivable_amount']}",
    )
    step(f"finance recorded payment {payment['id']}")

    after = leaderboard_row(ceo, person)
    for key, delta in (
        ("won_count", 1),
        ("won_amount", CONTRACT_AMOUNT),
        ("contracts", 1),
        ("contract_amount", CONTRACT_AMOUNT),
        ("payments", PAYMENT),
    ):
        gained = Decimal(str(after.get(key) or 0)) - Decimal(str(before.get(key) or 0))
        check(gained == delta, f"leaderboard {key} for {person} grew by {gained}, not {delta}")
    web = session_login(base, "ceo")
    page = web.get(f"{base}/reports/leaderboard/", timeout=60)
    expect(page, 200, "leaderboard page")
    check(person in page.text, "the leaderboard page lists sales1")
    step("leaderboard (API and page) shows the won deal, contract and payment")

    web = session_login(base, "sales1")
    page = web.get(f"{base}/customers/{customer_id}/", timeout=60)
    expect(page, 200, "360° page")
    check(contract["number"] in page.text, "the 360° page shows the contract")
    step("360° page shows the contract")
    timings["total"] = round(time.monotonic() - t_start, 2)
    return {
        "timings": timings,
        "lead": lead["id"],
        "customer": customer_id,
        "contract": contract["number"],
    }


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8105"
    print(f"acceptance journey against {url}")
    result = run(url)
    print(f"OK in {result['timings']['total']}s: contract {result['contract']}")
