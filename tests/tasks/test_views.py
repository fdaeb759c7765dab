"""Task pages: query counts with several rows, create (task and subtask), status, comments with
files and the download's permission check, the 360° panel, the demo."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.customers.models import Customer
from apps.org.models import Scope
from apps.tasks.models import Task, TaskAttachment
from tests.customers.factories import CustomerFactory
from tests.org.factories import make_role

from .conftest import fresh, make_task
from .factories import TaskFactory


@pytest.fixture
def alice_client(client, org):
    client.force_login(org.alice)
    return client


def _count_growth(client, url, add_rows, django_assert_max_num_queries):
    with django_assert_max_num_queries(60) as ctx:
        assert client.get(url).status_code == 200
    first = len(ctx.captured_queries)
    add_rows()
    with django_assert_max_num_queries(first):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("url_name", ["tasks:list", "tasks:board", "tasks:todos"])
def test_list_pages_query_count(org, alice_client, url_name, django_assert_max_num_queries):
    customer = CustomerFactory(owner=org.alice)
    for _ in range(3):
        TaskFactory(assignee=org.alice, customer=customer)

    def more():
        for _ in range(10):
            TaskFactory(assignee=org.alice, customer=CustomerFactory(owner=org.alice))

    _count_growth(alice_client, reverse(url_name), more, django_assert_max_num_queries)


def test_detail_query_count(org, alice_client, django_assert_max_num_queries):
    top = make_task(org.alice, title="Top")
    sub = make_task(org.alice, title="Sub", parent=top)
    from apps.tasks import services

    services.comment_add(task=top, by=fresh(org.alice), body="first")
    url = reverse("tasks:detail", args=[top.pk])

    def more():
        for i in range(5):
            child = make_task(org.alice, title=f"S{i}", parent=sub, assignee=org.bob)
            services.comment_add(
                task=top,
                by=fresh(org.alice),
                body=f"c{i}",
                files=[SimpleUploadedFile(f"n{i}.txt", b"x", content_type="text/plain")],
            )
            assert child.depth == 2

    _count_growth(alice_client, url, more, django_assert_max_num_queries)
    html = alice_client.get(url).content.decode()
    assert 'data-level="2"' in html and "n4.txt" in html


def test_list_views_and_filters(org, alice_client):
    make_task(org.alice, title="Mine open")
    done = make_task(org.alice, title="Mine done")
    from apps.tasks import services

    services.task_set_status(task=done, status="done", by=fresh(org.alice))
    make_task(org.alice, title="Given to bob", assignee=org.bob)
    html = alice_client.get(reverse("tasks:list")).content.decode()
    assert "Mine open" in html and "Mine done" not in html and "Given to bob" not in html
    html = alice_client.get(reverse("tasks:list") + "?view=created&open=0").content.decode()
    assert "Mine done" in html and "Given to bob" in html
    res = alice_client.get(reverse("tasks:list") + "?assignee=nobody-at-all")
    assert res.status_code == 200 and "alert-warning" in res.content.decode()
    html = alice_client.get(reverse("tasks:board")).content.decode()
    assert 'data-status="done"' in html and "Mine done" in html


def test_create_task_and_subtask_pages(org, alice_client):
    res = alice_client.post(
        reverse("tasks:create"),
        {"title": "Prepare offer", "priority": "high", "due_at": "2030-05-01T09:30"},
    )
    task = Task.objects.get(title="Prepare offer")
    assert res.status_code == 302 and res["Location"] == reverse("tasks:detail", args=[task.pk])
    assert task.assignee == org.alice and task.priority == "high"
    res = alice_client.post(
        reverse("tasks:create"),
        {"parent": task.pk, "quick": "1", "title": "Collect prices", "assignee": org.bob.pk},
    )
    assert res.status_code == 302
    sub = Task.objects.get(title="Collect prices")
    assert sub.parent == task and sub.assignee == org.bob
    page = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "Collect prices" in page and 'data-testid="subtask-tree"' in page
    # Bad input: form errors, nothing saved, no 500.
    res = alice_client.post(reverse("tasks:create"), {"title": "", "due_at": "soon"})
    assert res.status_code == 200 and Task.objects.count() == 2
    assert "invalid-feedback" in res.content.decode()


def test_pages_refuse_outsiders(org, client):
    task = make_task(org.alice, title="Private")
    client.force_login(org.carol)
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 404
    assert (
        client.post(reverse("tasks:status", args=[task.pk]), {"status": "done"}).status_code == 404
    )
    assert client.get(reverse("tasks:edit", args=[task.pk])).status_code == 404
    client.force_login(org.nobody)
    assert client.get(reverse("tasks:create")).status_code == 403
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_status_edit_delete_pages(org, alice_client):
    task = make_task(org.alice, title="Flow")
    res = alice_client.post(reverse("tasks:status", args=[task.pk]), {"status": "doing"})
    assert res.status_code == 302 and Task.objects.get(pk=task.pk).status == "doing"
    res = alice_client.post(
        reverse("tasks:edit", args=[task.pk]),
        {"title": "Flow 2", "priority": "low", "assignee": org.alice.pk},
    )
    assert res.status_code == 302 and Task.objects.get(pk=task.pk).title == "Flow 2"
    res = alice_client.post(reverse("tasks:delete", args=[task.pk]))
    assert res.status_code == 302 and not Task.objects.exists()


def test_comment_upload_and_download_permission(org, alice_client, client):
    task = make_task(org.alice, title="Files")
    res = alice_client.post(
        reverse("tasks:comment", args=[task.pk]),
        {"body": "Minutes", "files": [SimpleUploadedFile("m.txt", b"minutes", "text/plain")]},
    )
    assert res.status_code == 302
    att = TaskAttachment.objects.get()
    url = reverse("tasks:attachment", args=[att.pk])
    res = alice_client.get(url)
    assert res.status_code == 200 and res["X-Content-Type-Options"] == "nosniff"
    client.force_login(org.carol)
    assert client.get(url).status_code == 404


def test_customer_360_panel_and_timeline(org, alice_client):
    make_role("crm", Customer, actions=("view",), scope=Scope.OWN, members=[org.alice])
    customer = CustomerFactory(owner=org.alice)
    make_task(org.alice, title="Visit the customer", customer=customer)
    html = alice_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-panel="tasks"' in html and "Visit the customer" in html
    from apps.customers.selectors import customer_timeline

    items = customer_timeline(user=fresh(org.alice), customer=customer)
    assert any(i.kind == "tasks.created" for i in items)


@pytest.mark.django_db
def test_demo_seeds_tasks_with_subtasks_and_comments():
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - idempotent
    assert Task.objects.filter(parent__isnull=False).exists()
    assert Task.objects.filter(depth=2).exists()
    assert Task.objects.filter(comments__isnull=False).exists()
    assert Task.objects.filter(title="整理本周销售周报").count() == 1
    top = Task.objects.get(title="华北区年度客户回访计划")
    assert 0 < top.progress < 100
