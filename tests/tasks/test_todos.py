"""The to-do inbox: each provider costs one query, counts are right, the API and the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.approvals import services as approval_services
from apps.customers.models import Customer, Ticket
from apps.docs.models import Announcement
from apps.org.models import Scope
from apps.org.todos import providers_for
from apps.tasks import inbox, services
from apps.tasks.models import Task
from tests.approvals.factories import template_with_steps
from tests.customers.factories import CustomerFactory
from tests.org.factories import make_role

from .conftest import client_for, fresh, make_task

KINDS = ["approval", "task", "follow_up", "ticket", "announcement"]


@pytest.fixture
def inbox_data(org):
    """Three items of every kind waiting for alice, plus rows that must not count."""
    now = timezone.now()
    make_role("crm", Customer, actions=("view",), scope=Scope.OWN, members=[org.alice])
    make_role("svc", Ticket, actions=("view",), scope=Scope.OWN, members=[org.alice])
    # approvals: alice approves bob's requests
    template_with_steps("todo-gen", {"users": [org.alice]})
    for i in range(3):
        approval_services.approval_start(template="todo-gen", by=fresh(org.bob), title=f"Req {i}")
    # tasks: due today (one overdue), not next week, not done, not someone else's
    for i, hours in enumerate((-30, -1, 0)):
        make_task(
            org.alice,
            title=f"Due {i}",
            due_at=timezone.localtime(now).replace(hour=23, minute=0) + dt.timedelta(hours=hours),
        )
    make_task(org.alice, title="Next week", due_at=now + dt.timedelta(days=7))
    done = make_task(org.alice, title="Done", due_at=now - dt.timedelta(hours=2))
    services.task_set_status(task=done, status=Task.Status.DONE, by=fresh(org.alice))
    make_task(org.bob, title="Bob's", due_at=now)
    # follow-ups due today on alice's customers
    for i in range(3):
        CustomerFactory(owner=org.alice, next_follow_up_at=now - dt.timedelta(hours=i))
    CustomerFactory(owner=org.alice, next_follow_up_at=now + dt.timedelta(days=3))
    CustomerFactory(owner=org.bob, next_follow_up_at=now)
    # tickets assigned to alice
    customer = CustomerFactory(owner=org.alice)
    for i in range(3):
        Ticket.objects.create(
            customer=customer,
            title=f"T{i}",
            assignee=org.alice,
            status="assigned",
            sla_due_at=now + dt.timedelta(hours=i - 1),
        )
    Ticket.objects.create(customer=customer, title="Closed", assignee=org.alice, status="closed")
    # required announcements alice has not read
    for i in range(3):
        Announcement.objects.create(
            title=f"Notice {i}",
            publisher=org.manager,
            requires_read=True,
            published_at=now - dt.timedelta(minutes=i + 1),
        )
    Announcement.objects.create(
        title="Optional", publisher=org.manager, requires_read=False, published_at=now
    )
    return org


def _warm(user):
    """The per-request caches every page builds once (permissions, department ancestry)."""
    from apps.docs.querysets import department_ancestor_ids

    user.has_perm("customers.view_customer")
    department_ancestor_ids(user)
    return user


@pytest.mark.parametrize("kind", KINDS)
def test_each_provider_costs_one_query(inbox_data, kind, django_assert_num_queries):
    user = _warm(fresh(inbox_data.alice))
    provider = next(p for p in providers_for(user) if p.kind == kind)
    with django_assert_num_queries(1):
        page = provider.fetch(user, 2)
    assert page.count == 3
    assert len(page.items) == 2
    assert all(item.kind == kind and item.url and item.object_id for item in page.items)
    with django_assert_num_queries(1):
        assert provider.fetch(user, 0).count == 3
    with django_assert_num_queries(1):
        assert provider.fetch(user, 50).count == 3


def test_items_are_soonest_first_and_flag_overdue(inbox_data):
    user = fresh(inbox_data.alice)
    provider = next(p for p in providers_for(user) if p.kind == "task")
    items = provider.fetch(user, 10).items
    assert [i.title for i in items] == ["Due 0", "Due 1", "Due 2"]
    assert items[0].overdue is True
    assert items[0].url == reverse("tasks:detail", args=[items[0].object_id])


def test_kinds_follow_permissions(org):
    kinds = [p.kind for p in providers_for(fresh(org.nobody))]
    assert "follow_up" not in kinds and "ticket" not in kinds
    assert {"approval", "task", "announcement"} <= set(kinds)


def test_inbox_counts_and_merge(inbox_data):
    user = fresh(inbox_data.alice)
    counts = dict((p.kind, n) for p, n in inbox.counts(user))
    assert {k: counts[k] for k in KINDS} == dict.fromkeys(KINDS, 3)
    assert inbox.total(user) == 15
    total, per_kind, rows = inbox.items(user, offset=0, limit=4)
    assert total == 15 and len(rows) == 4
    dues = [r.due_at for r in rows]
    assert all(d is not None for d in dues) and dues == sorted(dues)


def test_api_lists_filters_and_counts(inbox_data):
    client = client_for(inbox_data.alice)
    res = client.get("/api/v1/todos/?page_size=5")
    assert res.status_code == 200
    body = res.json()
    assert body["count"] == 15 and len(body["results"]) == 5 and body["next"]
    assert body["counts"]["task"] == 3
    assert set(body["results"][0]) >= {"kind", "title", "url", "due_at", "object_id"}
    res = client.get("/api/v1/todos/?kind=ticket")
    body = res.json()
    assert body["count"] == 3 and {r["kind"] for r in body["results"]} == {"ticket"}
    assert body["counts"]["approval"] == 3
    res = client.get("/api/v1/todos/counts/")
    assert res.json()["total"] == 15
    assert {k["kind"]: k["count"] for k in res.json()["kinds"]}["announcement"] == 3


@pytest.mark.parametrize(
    "query, field",
    [("kind=nope", "kind"), ("page=0", "page"), ("page_size=500", "page_size"), ("page=x", "page")],
)
def test_api_bad_parameters_are_400(org, query, field):
    res = client_for(org.alice).get(f"/api/v1/todos/?{query}")
    assert res.status_code == 400 and field in res.json()


def test_api_needs_a_user(db):
    assert client_for(None).get("/api/v1/todos/").status_code in (401, 403)


def test_inbox_api_query_count(inbox_data, django_assert_max_num_queries):
    client = client_for(fresh(inbox_data.alice))
    # 5 providers + the user's permission, grant and department look-ups, whatever the rows
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/todos/").status_code == 200


def test_inbox_page_and_navigation_badge(inbox_data, client, django_assert_max_num_queries):
    client.force_login(inbox_data.alice)
    with django_assert_max_num_queries(40):
        res = client.get(reverse("tasks:todos"))
    assert res.status_code == 200
    html = res.content.decode()
    for title in ("Req 0", "Due 0", "T0", "Notice 0"):
        assert title in html
    assert 'data-count="3"' in html
    res = client.get(reverse("tasks:todos") + "?kind=approval")
    assert res.status_code == 200 and "Req 2" in res.content.decode()
    assert client.get(reverse("tasks:todos") + "?kind=nope").status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert reverse("tasks:todos") in home
    assert '<span class="weft-nav-badge">15</span>' in home
