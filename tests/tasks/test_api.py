"""tasks/ API: contract fields, scoping, the permission matrix of every mutating endpoint
(status and that nothing changed), comments with files, bad input → 400, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.tasks.models import Task, TaskComment

from .conftest import client_for, fresh, make_task
from .factories import TaskFactory

CONTRACT = {
    "id",
    "title",
    "description",
    "assignee",
    "creator",
    "parent",
    "status",
    "priority",
    "due_at",
    "customer",
}


def snapshot(task: Task) -> tuple:
    t = Task.objects.get(pk=task.pk)
    return (t.title, t.status, t.assignee_id, t.priority, t.due_at, t.comments.count())


@pytest.fixture
def task(org):
    """alice's task, created by alice (bob: same department, own scope; carol: other
    department; manager: tree scope over 销售部; nobody: no permission)."""
    return make_task(
        org.alice, title="Quarterly plan", due_at=timezone.now() + dt.timedelta(days=2)
    )


def who(org, name):
    return None if name == "anonymous" else getattr(org, name)


def test_contract_fields_and_create(org):
    client = client_for(org.alice)
    res = client.post(
        "/api/v1/tasks/",
        {
            "title": "Call",
            "assignee": org.bob.pk,
            "priority": "high",
            "due_at": "2030-01-02T10:00:00+08:00",
            "participants": [org.carol.pk],
        },
        format="json",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert CONTRACT <= set(body)
    assert body["assignee"] == org.bob.pk and body["creator"] == org.alice.pk
    assert body["status"] == "todo" and body["participants"] == [org.carol.pk]
    sub = client.post(
        "/api/v1/tasks/", {"title": "Step 1", "parent": body["id"]}, format="json"
    ).json()
    assert sub["parent"] == body["id"] and sub["depth"] == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "title"),
        ({"title": "x", "assignee": 999999}, "assignee"),
        ({"title": "x", "priority": "asap"}, "priority"),
        ({"title": "x", "due_at": "tomorrow"}, "due_at"),
        ({"title": "x", "status": "done"}, "status"),
        ({"title": "x", "repeat": "weekly"}, "due_at"),
        ({"title": "x", "link_type": "nope.nope", "link_id": 1}, "link_type"),
        ({"title": "x", "link_type": "customers.customer"}, "link_id"),
        ({"title": "x", "parent": 999999}, "parent"),
        ({"title": "x", "customer": 999999}, "customer"),
    ],
)
def test_bad_input_is_400_with_field_errors(org, payload, field):
    res = client_for(org.alice).post("/api/v1/tasks/", payload, format="json")
    assert res.status_code == 400, res.content
    assert field in res.json()
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "user, expected",
    [("anonymous", (401, 403)), ("nobody", (403,)), ("alice", (201,))],
)
def test_create_matrix(org, user, expected):
    res = client_for(who(org, user)).post("/api/v1/tasks/", {"title": "x"}, format="json")
    assert res.status_code in expected
    assert Task.objects.count() == (1 if 201 in expected else 0)


@pytest.mark.parametrize(
    "user, expected",
    [
        ("anonymous", (401, 403)),
        ("nobody", (404,)),  # cannot see it
        ("carol", (404,)),  # other department
        ("bob", (404,)),  # same department, own scope
        ("alice", (200,)),  # assignee and creator
        ("manager", (200,)),  # tree scope with change
    ],
)
def test_update_matrix(org, task, user, expected):
    before = snapshot(task)
    res = client_for(who(org, user)).patch(
        f"/api/v1/tasks/{task.pk}/", {"title": "Changed"}, format="json"
    )
    assert res.status_code in expected, res.content
    if 200 in expected:
        assert Task.objects.get(pk=task.pk).title == "Changed"
    else:
        assert snapshot(task) == before


def test_participant_sees_but_cannot_change(org, task):
    task.participants.add(org.bob)
    client = client_for(fresh(org.bob))
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    before = snapshot(task)
    assert (
        client.patch(f"/api/v1/tasks/{task.pk}/", {"title": "x"}, format="json").status_code == 403
    )
    assert snapshot(task) == before
    res = client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "On it"}, format="json")
    assert res.status_code == 201


@pytest.mark.parametrize(
    "user, expected",
    [
        ("anonymous", (401, 403)),
        ("nobody", (404,)),
        ("carol", (404,)),
        ("bob", (404,)),
        ("alice", (200,)),
        ("manager", (200,)),
    ],
)
def test_status_matrix(org, task, user, expected):
    before = snapshot(task)
    res = client_for(who(org, user)).patch(
        f"/api/v1/tasks/{task.pk}/", {"status": "done"}, format="json"
    )
    assert res.status_code in expected
    if 200 in expected:
        assert res.json()["status"] == "done" and res.json()["progress"] == 100
    else:
        assert snapshot(task) == before


def test_status_conflicts_are_reported(org, task):
    client = client_for(org.alice)
    make_task(org.alice, title="Open child", parent=task)
    res = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "done"}, format="json")
    assert res.status_code == 400 and "status" in res.json()
    client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "cancelled"}, format="json")
    res = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "doing"}, format="json")
    assert res.status_code == 409


@pytest.mark.parametrize(
    "user, expected",
    [
        ("anonymous", (401, 403)),
        ("nobody", (404,)),
        ("carol", (404,)),
        ("bob", (404,)),
        ("alice", (204,)),  # the creator
        ("manager", (204,)),  # delete permission, tree scope
    ],
)
def test_delete_matrix(org, task, user, expected):
    res = client_for(who(org, user)).delete(f"/api/v1/tasks/{task.pk}/")
    assert res.status_code in expected
    assert Task.objects.filter(pk=task.pk).exists() == (204 not in expected)


def test_assignee_who_did_not_create_cannot_delete(org):
    task = make_task(org.manager, title="Do it", assignee=org.alice)
    res = client_for(fresh(org.alice)).delete(f"/api/v1/tasks/{task.pk}/")
    assert res.status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize(
    "user, expected",
    [
        ("anonymous", (401, 403)),
        ("nobody", (404,)),
        ("carol", (404,)),
        ("bob", (404,)),
        ("alice", (201,)),
        ("manager", (201,)),
    ],
)
def test_comment_matrix(org, task, user, expected):
    res = client_for(who(org, user)).post(
        f"/api/v1/tasks/{task.pk}/comments/", {"body": "Looks good"}, format="json"
    )
    assert res.status_code in expected
    assert TaskComment.objects.filter(task=task).count() == (1 if 201 in expected else 0)


def test_comments_with_files_and_download(org, task):
    client = client_for(org.alice)
    upload = SimpleUploadedFile("notes.txt", b"meeting notes", content_type="text/plain")
    res = client.post(
        f"/api/v1/tasks/{task.pk}/comments/",
        {"body": "See @bob", "files": [upload]},
        format="multipart",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["mentions"] == [org.bob.pk]
    (att,) = body["attachments"]
    assert att["name"] == "notes.txt"
    download = client.get(att["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"meeting notes"
    assert "attachment" in download["Content-Disposition"]
    # bob was mentioned, so he takes part and may download; carol may not.
    assert client_for(fresh(org.bob)).get(att["url"]).status_code == 200
    assert client_for(org.carol).get(att["url"]).status_code == 404
    listed = client.get(f"/api/v1/tasks/{task.pk}/comments/").json()
    assert listed["count"] == 1 and listed["results"][0]["body"] == "See @bob"
    bad = SimpleUploadedFile("x.exe", b"MZ\x90\x00binary", content_type="application/x")
    res = client.post(
        f"/api/v1/tasks/{task.pk}/comments/", {"body": "x", "files": [bad]}, format="multipart"
    )
    assert res.status_code == 400 and "files" in res.json()
    assert client.post(f"/api/v1/tasks/{task.pk}/comments/", {}, format="json").status_code == 400
    assert TaskComment.objects.filter(task=task).count() == 1


def test_views_and_filters(org):
    mine = make_task(org.alice, title="Mine", priority="high")
    created = make_task(org.alice, title="For bob", assignee=org.bob)
    make_task(org.bob, title="Bob alone")
    client = client_for(fresh(org.alice))

    def titles(query):
        res = client.get(f"/api/v1/tasks/?{query}")
        assert res.status_code == 200, res.content
        return {r["title"] for r in res.json()["results"]}

    assert titles("") == {"Mine", "For bob"}
    assert titles("view=mine") == {"Mine"}
    assert titles("view=created") == {"Mine", "For bob"}
    assert titles("priority=high") == {"Mine"}
    assert titles("assignee=me") == {"Mine"}
    assert titles("search=bob") == {"For bob"}
    assert titles("top=true") == {"Mine", "For bob"}
    manager = client_for(fresh(org.manager))
    res = manager.get("/api/v1/tasks/?view=team")
    assert {r["title"] for r in res.json()["results"]} == {"Mine", "For bob", "Bob alone"}
    assert client.get("/api/v1/tasks/?view=bogus").status_code == 400
    assert client.get("/api/v1/tasks/?assignee=someone").status_code == 400
    assert client.get(f"/api/v1/tasks/{created.pk}/subtasks/").json() == []
    assert mine.pk


def test_list_query_count_does_not_grow(org, django_assert_max_num_queries):
    for _ in range(3):
        TaskFactory(assignee=org.alice)
    client = client_for(fresh(org.alice))
    with django_assert_max_num_queries(12) as ctx:
        assert client.get("/api/v1/tasks/").status_code == 200
    first = len(ctx.captured_queries)
    for _ in range(10):
        task = TaskFactory(assignee=org.alice)
        task.participants.add(org.bob)
    client = client_for(fresh(org.alice))
    with django_assert_max_num_queries(first):
        res = client.get("/api/v1/tasks/")
    assert res.json()["count"] == 13
