"""Admin: templates with inline steps and the condition form, the preview, read-only requests."""

from __future__ import annotations

import pytest

from apps.approvals import services
from apps.approvals.models import ApprovalRequest, ApprovalTemplate, ApproverType, Kind
from tests.approvals.factories import amount_rule, template_with_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, company):
    client.force_login(company.root)
    return client


def step_post(i, **values):
    base = {
        "order": str(i),
        "name": f"Step {i}",
        "approver_type": "manager",
        "mode": "orsign",
        "level": "1",
        "subject_field": "",
        "allow_return": "on",
        "due_hours": "",
        "condition_match": "all",
        "condition_rules": "",
    }
    base.update(values)
    return {f"steps-{i}-{k}": v for k, v in base.items()}


def template_post(*steps, **values):
    data = {
        "code": "trip",
        "name": "Business trip",
        "kind": "general",
        "description": "",
        "active": "on",
        "order": "0",
        "extra_fields": "[]",
        "fallback_approver": "",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for step in steps:
        data.update(step)
    data.update(values)
    return data


def test_create_template_with_steps_and_a_condition(admin_client, company):
    res = admin_client.post(
        "/admin/approvals/approvaltemplate/add/",
        template_post(
            step_post(0),
            step_post(
                1,
                name="CEO",
                approver_type="users",
                approver_users=[str(company.boss.pk)],
                condition_rules="amount gte 100000\ndata.days gt 3",
                condition_match="any",
                due_hours="24",
            ),
        ),
    )
    assert res.status_code == 302, res.content.decode()[-3000:]
    template = ApprovalTemplate.objects.get(code="trip")
    manager, ceo = template.steps.order_by("order")
    assert manager.condition == {}
    assert ceo.condition == {
        "match": "any",
        "rules": [
            {"field": "amount", "op": "gte", "value": "100000"},
            {"field": "data.days", "op": "gt", "value": "3"},
        ],
    }
    assert list(ceo.approver_users.all()) == [company.boss] and ceo.due_hours == 24
    page = admin_client.get(f"/admin/approvals/approvaltemplate/{template.pk}/change/")
    assert page.status_code == 200
    assert "amount gte 100000" in page.content.decode()
    assert f"/admin/approvals/approvaltemplate/{template.pk}/preview/" in page.content.decode()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (step_post(0, condition_rules="amount > 5"), "field operator value"),
        (step_post(0, condition_rules="__class__ eq 1"), "unknown field"),
        (step_post(0, approver_type="users"), "Choose at least one approver."),
        (step_post(0, approver_type="role"), "Choose the role whose members approve."),
        (step_post(0, approver_type="subject_user"), "Name the subject"),
        (
            step_post(0, approver_type="subject_user", subject_field="owner.__class__"),
            "Field names separated by dots",
        ),
    ],
)
def test_bad_steps_are_refused(admin_client, step, message):
    res = admin_client.post("/admin/approvals/approvaltemplate/add/", template_post(step))
    assert res.status_code == 200
    assert message in res.content.decode()
    assert not ApprovalTemplate.objects.exists()


def test_bad_extra_fields_are_refused(admin_client):
    res = admin_client.post(
        "/admin/approvals/approvaltemplate/add/", template_post(extra_fields='[{"key": "amount"}]')
    )
    assert res.status_code == 200 and not ApprovalTemplate.objects.exists()


def test_preview_view(admin_client, company):
    template = template_with_steps(
        "contract",
        {"name": "Director", "approver_type": ApproverType.DEPARTMENT_HEAD},
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "condition": amount_rule("gte", 500000),
        },
        {"name": "Manager", "approver_type": ApproverType.MANAGER},
        kind=Kind.CONTRACT,
        fallback_approver=company.finance,
    )
    url = f"/admin/approvals/approvaltemplate/{template.pk}/preview/"
    assert admin_client.get(url).status_code == 200
    res = admin_client.get(
        url,
        {
            "amount": "600000",
            "department": company.sales.pk,
            "initiator": company.boss.pk,
            "data": '{"days": 2}',
        },
    )
    body = res.content.decode()
    assert res.status_code == 200
    assert "preview-result" in body and "Director" in body and "Boss" in body
    assert "fallback to Fin" in body  # the boss has no manager
    res = admin_client.get(url, {"amount": "abc", "data": "[1]"})
    assert "Enter a number." in res.content.decode()
    assert "Enter a JSON object." in res.content.decode()


def test_preview_needs_admin_access(client, company):
    template = template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    client.force_login(company.rep)
    res = client.get(f"/admin/approvals/approvaltemplate/{template.pk}/preview/")
    assert res.status_code == 302 and "/admin/login/" in res["Location"]


def test_requests_are_read_only_with_their_timeline(admin_client, company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    obj = services.approval_start(template="t", by=company.rep, title="Visible")
    assert admin_client.get("/admin/approvals/approvalrequest/").status_code == 200
    page = admin_client.get(f"/admin/approvals/approvalrequest/{obj.pk}/change/")
    assert page.status_code == 200 and "Submitted" in page.content.decode()
    res = admin_client.post(
        f"/admin/approvals/approvalrequest/{obj.pk}/change/", {"title": "Changed"}
    )
    assert res.status_code == 403
    obj.refresh_from_db()
    assert obj.title == "Visible"
    assert admin_client.get("/admin/approvals/approvalrequest/add/").status_code == 403
    assert ApprovalRequest.objects.count() == 1
