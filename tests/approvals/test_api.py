"""API: approval-templates/, approvals/, approval-tasks/ — shapes, errors, permission matrix."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.approvals import services
from apps.approvals.models import (
    ApprovalAction,
    ApprovalRequest,
    ApprovalTemplate,
    ApproverType,
    Kind,
    SignMode,
)
from apps.approvals.selectors import pending_tasks_for
from apps.org.models import Scope
from apps.studio.models import FieldDefinition
from tests.approvals.factories import amount_rule, template_with_steps
from tests.org.factories import make_role

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status


@pytest.fixture
def setup(company):
    """Everyone may start requests; the director sees his department tree, finance all."""
    make_role(
        "员工",
        ApprovalRequest,
        actions=("add",),
        members=[company.rep, company.rep2, company.director, company.outsider, company.boss],
    )
    make_role(
        "主管", ApprovalRequest, actions=("view",), scope=Scope.TREE, members=[company.director]
    )
    make_role(
        "财务审计", ApprovalRequest, actions=("view",), scope=Scope.ALL, members=[company.finance]
    )
    template_with_steps(
        "contract",
        {"name": "Director", "approver_type": ApproverType.MANAGER},
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "condition": amount_rule("gte", 500000),
        },
        kind=Kind.CONTRACT,
    )
    return company


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def snapshot(request: ApprovalRequest):
    request.refresh_from_db()
    return (
        request.status,
        request.round,
        request.current_step,
        ApprovalAction.objects.filter(request=request).count(),
        Task.objects.filter(process_id=request.process_id).count(),
    )


def test_templates_endpoint(setup):
    template_with_steps("old", {"approver_type": ApproverType.MANAGER}, active=False)
    res = client_for(setup.rep).get("/api/v1/approval-templates/")
    assert res.status_code == 200
    (item,) = res.json()["results"]
    assert set(item) >= {"id", "code", "name", "kind", "steps"}
    assert item["code"] == "contract" and item["kind"] == "contract"
    assert [s["name"] for s in item["steps"]] == ["Director", "CEO"]
    assert item["steps"][1]["condition"]["rules"][0]["field"] == "amount"
    assert client_for(setup.root).get("/api/v1/approval-templates/").json()["count"] == 2
    assert client_for(None).get("/api/v1/approval-templates/").status_code in (401, 403)


def test_create_by_code_and_by_id_and_read_back(setup):
    api = client_for(setup.rep)
    res = api.post(
        "/api/v1/approvals/",
        {"template": "contract", "title": "ACME", "amount": "600000.00", "data": {}},
        format="json",
    )
    assert res.status_code == 201, res.json()
    body = res.json()
    assert {
        "id",
        "template",
        "title",
        "amount",
        "status",
        "initiator",
        "subject_type",
        "subject_id",
        "history",
    } <= set(body)
    assert body["status"] == "pending" and body["initiator"] == setup.rep.pk
    assert body["amount"] == "600000.00" and body["subject_type"] is None
    assert [h["kind"] for h in body["history"]] == ["submit"]
    template_id = ApprovalTemplate.objects.get(code="contract").pk
    res = api.post("/api/v1/approvals/", {"template": template_id, "title": "B"}, format="json")
    assert res.status_code == 201 and res.json()["template"] == template_id
    listed = api.get("/api/v1/approvals/?status=pending").json()
    assert listed["count"] == 2
    detail = api.get(f"/api/v1/approvals/{body['id']}/").json()
    assert detail["current_step_name"] == "Director"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"template": "nope", "title": "x"}, "template"),
        ({"template": "contract"}, "title"),
        ({"template": "contract", "title": "x", "amount": "abc"}, "amount"),
        ({"template": "contract", "title": "x", "data": {"colour": "red"}}, "data"),
        ({"template": "contract", "title": "x", "data": "nope"}, "data"),
        ({"template": "contract", "title": "x", "custom": {"nope": 1}}, "custom"),
        ({"template": ["contract"], "title": "x"}, "template"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(setup, payload, field):
    res = client_for(setup.rep).post("/api/v1/approvals/", payload, format="json")
    assert res.status_code == 400, res.content
    assert field in res.json()
    assert not ApprovalRequest.objects.exists()


def test_typed_data_errors_are_nested_under_data(setup):
    template_with_steps("leave", {"approver_type": ApproverType.MANAGER}, kind=Kind.LEAVE)
    res = client_for(setup.rep).post(
        "/api/v1/approvals/",
        {
            "template": "leave",
            "title": "Leave",
            "data": {"type": "annual", "start": "2026-12-05", "end": "2026-12-01"},
        },
        format="json",
    )
    assert res.status_code == 400
    assert res.json() == {"data": {"end": ["The leave ends before it starts."]}}
    res = client_for(setup.rep).post(
        "/api/v1/approvals/",
        {
            "template": "leave",
            "title": "Leave",
            "data": {"type": "annual", "start": "2026-12-01", "end": "2026-12-05"},
        },
        format="json",
    )
    assert res.status_code == 201 and res.json()["data"]["days"] == "5.0"


def test_custom_fields_round_trip(setup):
    FieldDefinition.objects.create(
        content_type=ContentType.objects.get_for_model(ApprovalRequest),
        key="project",
        label="Project",
        type="text",
    )
    res = client_for(setup.rep).post(
        "/api/v1/approvals/",
        {"template": "contract", "title": "x", "custom": {"project": "P-1"}},
        format="json",
    )
    assert res.status_code == 201, res.json()
    assert res.json()["custom"] == {"project": "P-1"}


def test_template_the_user_may_not_start_is_403(setup):
    template = ApprovalTemplate.objects.get(code="contract")
    template.start_departments.set([setup.finance_dept])
    res = client_for(setup.rep).post(
        "/api/v1/approvals/", {"template": "contract", "title": "x"}, format="json"
    )
    assert res.status_code == 403
    assert not ApprovalRequest.objects.exists()


def test_task_list_and_actions(setup):
    request = services.approval_start(
        template="contract", by=setup.rep, title="ACME", amount="600000"
    )
    api = client_for(setup.director)
    res = api.get("/api/v1/approval-tasks/")
    assert res.status_code == 200
    (task,) = res.json()["results"]
    assert {"id", "approval", "step_name", "assignee"} <= set(task)
    assert task["approval"] == request.pk and task["assignee"] == setup.director.pk
    assert task["step_name"] == "Director" and task["approval_title"] == "ACME"
    res = api.post(
        f"/api/v1/approval-tasks/{task['id']}/approve/", {"comment": "Fine"}, format="json"
    )
    assert res.status_code == 200, res.json()
    assert res.json() == {"approval": request.pk, "status": "pending", "current_step": 1}
    # The second click on the same task: 409, nothing moves.
    before = snapshot(request)
    res = api.post(f"/api/v1/approval-tasks/{task['id']}/approve/", {}, format="json")
    assert res.status_code == 409 and "detail" in res.json()
    assert snapshot(request) == before
    assert api.get("/api/v1/approval-tasks/").json()["count"] == 0
    boss_task = pending_tasks_for(setup.boss).get()
    res = client_for(setup.boss).post(
        f"/api/v1/approval-tasks/{boss_task.pk}/return/", {"comment": "Add margin"}, format="json"
    )
    assert res.status_code == 200 and res.json()["status"] == "returned"
    history = client_for(setup.rep).get(f"/api/v1/approvals/{request.pk}/").json()["history"]
    assert [(h["kind"], h["comment"]) for h in history] == [
        ("submit", ""),
        ("approve", "Fine"),
        ("return", "Add margin"),
    ]


def test_resubmit_and_comment_endpoints(setup):
    request = services.approval_start(template="contract", by=setup.rep, title="x")
    task = pending_tasks_for(setup.director).get()
    client_for(setup.director).post(
        f"/api/v1/approval-tasks/{task.pk}/reject/", {"comment": "no"}, format="json"
    )
    res = client_for(setup.rep).post(
        f"/api/v1/approvals/{request.pk}/resubmit/", {"amount": "1"}, format="json"
    )
    assert res.status_code == 409  # a rejection is final
    request2 = services.approval_start(template="contract", by=setup.rep, title="y")
    task = pending_tasks_for(setup.director).get()
    res = client_for(setup.director).post(
        f"/api/v1/approval-tasks/{task.pk}/comment/", {"comment": "Why?"}, format="json"
    )
    assert res.status_code == 200 and res.json()["kind"] == "comment"
    res = client_for(setup.director).post(
        f"/api/v1/approval-tasks/{task.pk}/return/", {}, format="json"
    )
    res = client_for(setup.rep).post(
        f"/api/v1/approvals/{request2.pk}/resubmit/",
        {"title": "y2", "amount": "700000", "comment": "bigger"},
        format="json",
    )
    assert res.status_code == 200, res.json()
    assert res.json()["round"] == 2 and res.json()["title"] == "y2"
    res = client_for(setup.rep).post(
        f"/api/v1/approvals/{request2.pk}/comment/", {"comment": "Please hurry"}, format="json"
    )
    assert res.status_code == 200
    assert res.json()["history"][-1]["comment"] == "Please hurry"


def test_transfer_endpoint(setup):
    services.approval_start(template="contract", by=setup.rep, title="x")
    task = pending_tasks_for(setup.director).get()
    api = client_for(setup.director)
    assert (
        api.post(f"/api/v1/approval-tasks/{task.pk}/transfer/", {}, format="json").status_code
        == 400
    )
    res = api.post(f"/api/v1/approval-tasks/{task.pk}/transfer/", {"to": 999999}, format="json")
    assert res.status_code == 400 and "to" in res.json()
    res = api.post(
        f"/api/v1/approval-tasks/{task.pk}/transfer/", {"to": setup.rep2.pk}, format="json"
    )
    assert res.status_code == 200 and res.json()["assignee"] == setup.rep2.pk
    assert (
        api.post(f"/api/v1/approval-tasks/{task.pk}/approve/", {}, format="json").status_code == 404
    )
    res = client_for(setup.rep2).post(
        f"/api/v1/approval-tasks/{task.pk}/approve/", {}, format="json"
    )
    assert res.status_code == 200 and res.json()["status"] == "approved"


# --- the permission matrix: anonymous, no permission, other department, owner, manager -------


@pytest.fixture
def pending(setup):
    """rep's request, waiting for the director (countersign with the boss)."""
    template_with_steps(
        "pair",
        {
            "approver_type": ApproverType.USERS,
            "users": [setup.director, setup.boss],
            "mode": SignMode.COUNTERSIGN,
        },
    )
    return services.approval_start(template="pair", by=setup.rep, title="Pair")


def who(setup, name):
    return {
        "anonymous": None,
        "no_permission": setup.outsider,  # no model permission, another department
        "other_department": setup.outsider,
        "colleague": setup.rep2,  # same department, view only own
        "owner": setup.rep,
        "manager": setup.director,  # tree scope over 销售部, and an approver
        "auditor": setup.finance,  # all scope, not involved
    }[name]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anonymous", 401),
        ("no_permission", 404),
        ("colleague", 404),
        ("owner", 200),
        ("manager", 200),
        ("auditor", 200),
    ],
)
def test_matrix_read_one_request(pending, setup, name, status):
    res = client_for(who(setup, name)).get(f"/api/v1/approvals/{pending.pk}/")
    assert res.status_code == status


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anonymous", 401),
        ("other_department", 404),
        ("colleague", 404),
        ("manager", 403),
        ("auditor", 403),
        ("owner", 200),
    ],
)
def test_matrix_withdraw(pending, setup, name, status):
    before = snapshot(pending)
    res = client_for(who(setup, name)).post(
        f"/api/v1/approvals/{pending.pk}/withdraw/", {}, format="json"
    )
    assert res.status_code == status
    if status == 200:
        assert res.json()["status"] == "withdrawn"
        assert snapshot(pending)[0] == Status.WITHDRAWN
    else:
        assert snapshot(pending) == before


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anonymous", 401),
        ("other_department", 404),
        ("colleague", 404),
        ("owner", 404),
        ("auditor", 404),
        ("manager", 200),
    ],
)
@pytest.mark.parametrize("verb", ["approve", "reject", "return", "transfer"])
def test_matrix_act_on_the_directors_task(pending, setup, name, status, verb):
    task = pending_tasks_for(setup.director).get()
    before = snapshot(pending)
    payload = {"to": setup.rep2.pk} if verb == "transfer" else {"comment": "c"}
    res = client_for(who(setup, name)).post(
        f"/api/v1/approval-tasks/{task.pk}/{verb}/", payload, format="json"
    )
    assert res.status_code == status
    if status != 200:
        assert snapshot(pending) == before
        assert Task.objects.get(pk=task.pk).status == STATUS.ASSIGNED
        assert Task.objects.get(pk=task.pk).owner_id == setup.director.pk


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anonymous", 401),
        ("no_permission", 403),
        ("owner", 201),
    ],
)
def test_matrix_create(setup, name, status):
    user = who(setup, name)
    if name == "no_permission":
        user.groups.clear()
    res = client_for(user).post(
        "/api/v1/approvals/", {"template": "contract", "title": "x"}, format="json"
    )
    assert res.status_code == status
    assert ApprovalRequest.objects.count() == (1 if status == 201 else 0)


def test_lists_are_scoped(pending, setup):
    def ids(user):
        return [r["id"] for r in client_for(user).get("/api/v1/approvals/").json()["results"]]

    other = services.approval_start(template="contract", by=setup.outsider, title="Other")
    assert ids(setup.rep) == [pending.pk]
    assert ids(setup.rep2) == []
    assert ids(setup.director) == [pending.pk]  # approver and in his tree
    assert set(ids(setup.finance)) == {pending.pk, other.pk}
    assert ids(setup.outsider) == [other.pk]
    assert ids(setup.boss) == [other.pk, pending.pk]  # approver of both


def test_upload_attachments(setup, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    template_with_steps("expense", {"approver_type": ApproverType.MANAGER}, kind=Kind.EXPENSE)
    request = services.approval_start(
        template="expense",
        by=setup.rep,
        title="Trip",
        data={"lines": [{"category": "travel", "amount": "10"}]},
    )
    url = f"/api/v1/approvals/{request.pk}/attachments/"
    res = client_for(setup.rep).post(
        url, {"file": SimpleUploadedFile("t.pdf", b"%PDF"), "line": 0}, format="multipart"
    )
    assert res.status_code == 200, res.content
    (att,) = res.json()["attachments"]
    assert att["name"] == "t.pdf" and att["line"] == 0
    request.refresh_from_db()
    assert request.data["lines"][0]["receipt"] == att["id"]
    res = client_for(setup.director).post(
        url, {"file": SimpleUploadedFile("x.txt", b"x")}, format="multipart"
    )
    assert res.status_code == 403
    assert client_for(setup.rep).post(url, {}, format="multipart").status_code == 400
