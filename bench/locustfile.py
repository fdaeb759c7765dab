"""Load mix for the production stack (bench/stack.py): the demo company at work.

Run through `make load` (bench/load.py), or by hand:

    .venv/bin/locust -f bench/locustfile.py --headless -u 10 -r 2 -t 1m \\
        --host http://127.0.0.1:8105 --csv bench/results/load

Each simulated user signs in as a demo user (sales reps most often, then the director, ceo,
finance, service, marketing) with the login form (session) and the token endpoint (API), and
then works with a think time of 1–5 s: customer list and 360° pages, search (global box and
the API's pinyin search), the deals kanban, the to-do inbox, the home dashboard, lead and
contract lists, a report page, API reads; and writes: sales people log follow-ups on the
360° page (htmx form) and everyone creates and completes a task through the API.
Request names group ids (`/customers/[id]/`) so the CSV has one row per endpoint.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import threading
from zoneinfo import ZoneInfo

from locust import HttpUser, between, task

PASSWORD = "demo1234"  # noqa: S105 - the demo company's documented password (DESIGN §6)
TZ = ZoneInfo("Asia/Shanghai")
# Who the 50 users are: a sales-heavy office.
ROSTER = [
    "sales1",
    "sales2",
    "sales_director",
    "sales1",
    "sales2",
    "ceo",
    "finance",
    "sales1",
    "sales2",
    "service",
    "marketing",
]
LISTS = ["/sales/leads/", "/sales/contracts/", "/tasks/"]
WRITERS = {"sales1", "sales2", "sales_director"}  # may log follow-ups on their customers
SEARCHES = ["上海", "科技", "zhang", "bj", "医疗", "有限公司", "138", "hz", "贸易", "wang"]
_next = itertools.cycle(ROSTER)
_lock = threading.Lock()


class DemoUser(HttpUser):
    wait_time = between(1, 5)

    def on_start(self) -> None:
        with _lock:
            self.username = next(_next)
        # The token first: with a session cookie, DRF's session authentication would demand a
        # CSRF token from the token endpoint (an API client has no session anyway).
        res = self.client.post(
            "/api/v1/auth/token/",
            json={"username": self.username, "password": PASSWORD},
            name="/api/v1/auth/token/",
        )
        self.api = {"Authorization": f"Token {res.json()['token']}"}
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="/accounts/login/ [POST]",
        )
        customers = self.client.get(
            "/api/v1/customers/?page_size=50&ordering=-last_contacted_at",
            headers=self.api,
            name="/api/v1/customers/",
        ).json()["results"]
        self.customer_ids = [c["id"] for c in customers] or [0]
        # Follow-ups go on the user's own customers (a colleague's visible customer is read-only:
        # 403, rightly).
        own = self.client.get(
            "/api/v1/customers/?owner=me&page_size=50",
            headers=self.api,
            name="/api/v1/customers/?owner=me",
        ).json()["results"]
        self.own_ids = [c["id"] for c in own]
        # The lists this user's roles open (finance and service have no leads list: a 403 there
        # is the permission working, not an error to count).
        self.lists = []
        for path in LISTS:
            with self.client.get(path, name=path, catch_response=True) as res:
                if res.status_code == 403:
                    res.success()
                elif res.status_code == 200:
                    self.lists.append(path)

    # --- pages ----------------------------------------------------------------------------
    def _csrf(self) -> dict:
        token = self.client.cookies.get("csrftoken", "")
        return {"X-CSRFToken": token, "Referer": f"{self.host}/"}

    @task(6)
    def customer_list(self) -> None:
        self.client.get("/customers/", name="/customers/")

    @task(5)
    def customer_360(self) -> None:
        pk = random.choice(self.customer_ids)
        if pk:
            self.client.get(f"/customers/{pk}/", name="/customers/[id]/")

    @task(3)
    def search(self) -> None:
        q = random.choice(SEARCHES)
        if random.random() < 0.5:
            self.client.get(f"/search/?q={q}", name="/search/?q=")
        else:
            self.client.get(
                f"/api/v1/customers/?search={q}",
                headers=self.api,
                name="/api/v1/customers/?search=",
            )

    @task(2)
    def kanban(self) -> None:
        self.client.get("/sales/opportunities/board/", name="/sales/opportunities/board/")

    @task(3)
    def inbox(self) -> None:
        self.client.get("/todos/", name="/todos/")

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="/")

    @task(1)
    def lists(self) -> None:
        path = random.choice(self.lists or ["/tasks/"])
        self.client.get(path, name=path)

    @task(1)
    def report(self) -> None:
        self.client.get("/reports/leaderboard/", name="/reports/leaderboard/")

    @task(2)
    def log_follow_up(self) -> None:
        if self.username not in WRITERS or not self.own_ids:
            self.api_read()
            return
        pk = random.choice(self.own_ids)
        now = dt.datetime.now(TZ).strftime("%Y-%m-%dT%H:%M")
        self.client.post(
            f"/customers/{pk}/follow-ups/new/",
            data={"kind": "call", "content": "电话跟进：确认需求与报价", "occurred_at": now},
            headers={**self._csrf(), "HX-Request": "true"},
            name="/customers/[id]/follow-ups/new/ [POST]",
        )

    # --- API --------------------------------------------------------------------------------
    @task(4)
    def api_read(self) -> None:
        path = random.choice(
            [
                "/api/v1/customers/",
                "/api/v1/opportunities/",
                "/api/v1/contracts/",
                "/api/v1/todos/",
                "/api/v1/notifications/",
                "/api/v1/follow-ups/",
            ]
        )
        self.client.get(path, headers=self.api, name=path)

    @task(1)
    def api_task_write(self) -> None:
        created = self.client.post(
            "/api/v1/tasks/",
            json={"title": "压测：回电确认", "priority": "normal"},
            headers=self.api,
            name="/api/v1/tasks/ [POST]",
        )
        if created.status_code == 201:
            self.client.patch(
                f"/api/v1/tasks/{created.json()['id']}/",
                json={"status": "done"},
                headers=self.api,
                name="/api/v1/tasks/[id]/ [PATCH]",
            )
