"""Approver rules, each one, through a real request; fallback when a rule finds nobody."""

from __future__ import annotations

from decimal import Decimal

import pytest
from viewflow.workflow.status import STATUS

from apps.approvals import services
from apps.approvals.chain import preview, resolve_approvers
from apps.approvals.flows import approve_tasks
from apps.approvals.models import ApprovalAction, ApprovalRequest, ApproverType
from apps.notify.models import Notification
from tests.approvals.factories import StepFactory, amount_rule, role_with, template_with_steps
from tests.org.factories import UserFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


def assignees(request: ApprovalRequest) -> set[str]:
    return {
        t.owner.username
        for t in approve_tasks()
        .filter(process_id=request.process_id, status=STATUS.ASSIGNED)
        .select_related("owner")
    }


def start(code, by, **kwargs):
    kwargs.setdefault("title", "Request")
    return services.approval_start(template=code, by=by, **kwargs)


def test_named_users_skip_inactive(company):
    gone = UserFactory(username="gone", is_active=False)
    template_with_steps(
        "t", {"approver_type": ApproverType.USERS, "users": [company.finance, company.boss, gone]}
    )
    assert assignees(start("t", company.rep)) == {"fin", "boss"}


def test_role_members(company):
    role = role_with("审批组", company.boss, company.director)
    template_with_steps("t", {"approver_type": ApproverType.ROLE, "approver_role": role})
    assert assignees(start("t", company.rep)) == {"boss", "director"}


def test_direct_manager(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    assert assignees(start("t", company.rep)) == {"director"}
    assert assignees(start("t", company.director)) == {"boss"}


@pytest.mark.parametrize(("level", "expected"), [(1, {"director"}), (2, {"boss"})])
def test_nth_level_manager(company, level, expected):
    template_with_steps("t", {"approver_type": ApproverType.NTH_MANAGER, "level": level})
    assert assignees(start("t", company.rep)) == expected


def test_department_head_and_head_above_when_initiator_is_head(company):
    template_with_steps("t", {"approver_type": ApproverType.DEPARTMENT_HEAD})
    assert assignees(start("t", company.rep)) == {"director"}
    # The director heads 销售部: the head of the department above (总经办) decides.
    assert assignees(start("t", company.director)) == {"boss"}


def test_subject_user_field(company):
    record = Record.objects.create(owner=company.rep2, title="Deal", department=company.sales)
    template_with_steps(
        "t", {"approver_type": ApproverType.SUBJECT_USER, "subject_field": "owner.manager"}
    )
    assert assignees(start("t", company.rep, subject=record)) == {"director"}
    step = {"approver_type": ApproverType.SUBJECT_USER, "subject_field": "owner"}
    assert resolve_approvers(step, initiator=company.rep, department=None, subject=record) == [
        company.rep2
    ]
    # Only forward foreign keys: no properties, no reverse relations, no made-up names.
    for path in ("title", "owner.name", "owner.groups", "owner.password", "nope"):
        step = {"approver_type": ApproverType.SUBJECT_USER, "subject_field": path}
        assert resolve_approvers(step, initiator=None, department=None, subject=record) == []


def test_missing_manager_goes_to_template_fallback_and_admin_is_told(company):
    template_with_steps(
        "t", {"approver_type": ApproverType.MANAGER}, fallback_approver=company.finance
    )
    request = start("t", company.boss)  # the boss has no manager
    assert request.status == ApprovalRequest.Status.PENDING
    assert assignees(request) == {"fin"}
    fallback = request.actions.get(kind=ApprovalAction.Kind.FALLBACK)
    assert fallback.target == company.finance and fallback.step_name == "S1"
    assert (
        Notification.objects.filter(recipient=company.root, verb="approval.fallback").count() == 1
    )
    assert (
        Notification.objects.filter(recipient=company.finance, verb="approval.assigned").count()
        == 1
    )


def test_empty_role_or_missing_level_fall_back_to_a_superuser(company):
    empty = role_with("空角色")
    template_with_steps(
        "t",
        {"approver_type": ApproverType.ROLE, "approver_role": empty},
        {"approver_type": ApproverType.NTH_MANAGER, "level": 5},
    )
    request = start("t", company.rep)
    assert assignees(request) == {"root"}
    task = approve_tasks().get(process_id=request.process_id, status=STATUS.ASSIGNED)
    services.approval_task_approve(task=task, by=company.root)
    request.refresh_from_db()
    assert request.current_step == 1 and assignees(request) == {"root"}
    assert request.actions.filter(kind=ApprovalAction.Kind.FALLBACK).count() == 2


def test_inactive_fallback_uses_a_superuser(company):
    company.finance.is_active = False
    company.finance.save()
    template_with_steps(
        "t", {"approver_type": ApproverType.MANAGER}, fallback_approver=company.finance
    )
    assert assignees(start("t", company.boss)) == {"root"}


def test_preview_lists_applying_steps_and_approvers(company):
    template = template_with_steps(
        "t",
        {"approver_type": ApproverType.DEPARTMENT_HEAD, "name": "Head"},
        {
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "name": "CEO",
            "condition": amount_rule("gte", 500000),
        },
        {"approver_type": ApproverType.MANAGER, "name": "Manager"},
        fallback_approver=company.finance,
    )
    rows = preview(template, amount=Decimal("600000"), department=company.sales)
    assert [r["applies"] for r in rows] == [True, True, True]
    assert rows[0]["approvers"] == [company.director]
    assert rows[1]["approvers"] == [company.boss]
    assert rows[2]["unknown"] is True  # the manager depends on who asks
    rows = preview(template, amount=Decimal("1000"), initiator=company.boss)
    assert [r["applies"] for r in rows] == [True, False, True]
    assert rows[2]["approvers"] == [] and rows[2]["fallback"] == company.finance


def test_step_rows_of_other_templates_are_ignored(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    StepFactory(approver_type=ApproverType.USERS, users=[company.boss])  # another template
    request = start("t", company.rep)
    assert len(request.steps) == 1


def test_nobody_and_no_fallback_is_a_clean_error(company):
    from apps.org.errors import ServiceError

    company.root.is_superuser = False
    company.root.save()
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    with pytest.raises(ServiceError) as exc:
        start("t", company.boss)
    assert "fallback approver" in str(exc.value)
    assert not ApprovalRequest.objects.exists()
