"""Smoke test over the demo company (DESIGN §6): `seed_demo` completes on a fresh database, the
demo automation rules exist, and as admin, sales1, finance and service every menu page, the
detail page of a visible record of each app, and the API list endpoints answer 200 (or a
deliberate 403/404) — never a 500."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from apps.approvals.models import ApprovalRequest
from apps.customers.models import Customer, Ticket
from apps.org import navigation
from apps.org.models import User
from apps.sales.models import Contract, Lead, Opportunity, Quote
from apps.studio.models import AutomationRule
from apps.tasks.models import Event, Task

pytestmark = pytest.mark.django_db(transaction=False)

USERS = ("admin", "sales1", "finance", "service")
DELIBERATE = {200, 403, 404}
DETAIL_MODELS = (Customer, Ticket, Lead, Opportunity, Quote, Contract, Task, Event, ApprovalRequest)
API_LISTS = (
    "customers",
    "contacts",
    "leads",
    "opportunities",
    "quotes",
    "contracts",
    "tasks",
    "events",
    "approvals",
    "notifications",
)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo, seeded once for the module inside a transaction that is rolled back at the
    end: later tests in this worker find the database as the migrations left it (a flush would
    also delete the rows data migrations made — beat schedules, default rules)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
        yield
        transaction.set_rollback(True)


def menu_urls() -> list[str]:
    urls = ["/"]
    for item in navigation._items.values():
        try:
            urls.append(reverse(item.url_name))
        except NoReverseMatch:
            continue
    return sorted(set(urls))


def detail_urls(user) -> list[str]:
    urls = []
    for model in DETAIL_MODELS:
        qs = model.objects.visible_to(user) if hasattr(model.objects, "visible_to") else None
        if qs is None:
            continue
        obj = qs.order_by("-pk").first()
        if obj is not None and hasattr(obj, "get_absolute_url"):
            urls.append(obj.get_absolute_url())
    return urls


def test_demo_seeded_with_its_automation_rules(seeded):
    names = set(AutomationRule.objects.values_list("name", flat=True))
    assert {"签约客户：欢迎短信 + 回访任务", "合同审批通过：交付任务 + 通知财务"} <= names
    assert Contract.objects.exists() and Task.objects.exists() and Lead.objects.exists()


@pytest.mark.parametrize("username", USERS)
def test_main_pages_answer_without_errors(seeded, username):
    user = User.objects.get(username=username)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    failures = []
    urls = menu_urls() + detail_urls(user)
    urls += [f"/api/v1/{name}/" for name in API_LISTS]
    for url in urls:
        res = client.get(url)
        if res.status_code not in DELIBERATE and not (300 <= res.status_code < 400):
            failures.append((url, res.status_code))
    assert not failures, failures
    assert len(urls) > 20
