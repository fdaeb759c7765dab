"""The approval engine through its services: conditions, sign modes, every action, hooks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.approvals import services
from apps.approvals.flows import approve_tasks
from apps.approvals.hooks import (
    approval_decided,
    register_outcome_handler,
    unregister_outcome_handler,
)
from apps.approvals.models import (
    ApprovalAction,
    ApprovalParticipant,
    ApprovalRequest,
    ApprovalStep,
    ApproverType,
    Kind,
    SignMode,
)
from apps.approvals.selectors import pending_tasks_for
from apps.notify.models import Notification
from apps.org.errors import ConflictError, ServiceError
from tests.approvals.factories import amount_rule, role_with, template_with_steps
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status


def task_of(user) -> Task:
    return pending_tasks_for(user).get()


def owners(request, status=STATUS.ASSIGNED) -> set[str]:
    return {
        t.owner.username
        for t in approve_tasks()
        .filter(process_id=request.process_id, status=status)
        .select_related("owner")
    }


def refresh(request) -> ApprovalRequest:
    request.refresh_from_db()
    return request


def contract_template(company):
    """DESIGN §6: < 500,000 → sales director; ≥ 500,000 → sales director then CEO."""
    return template_with_steps(
        "contract",
        {
            "name": "Sales director",
            "approver_type": ApproverType.USERS,
            "users": [company.director],
        },
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "condition": amount_rule("gte", 500000),
        },
        kind=Kind.CONTRACT,
    )


@pytest.mark.parametrize(
    ("amount", "chain"),
    [
        ("499999.99", ["director"]),
        ("500000", ["director", "boss"]),
    ],
)
def test_amount_condition_adds_a_step(company, amount, chain):
    contract_template(company)
    request = services.approval_start(
        template="contract", by=company.rep, title="Deal", amount=amount
    )
    walked = []
    while request.status == Status.PENDING:
        (name,) = owners(request)
        walked.append(name)
        services.approval_task_approve(
            task=task_of(getattr(company, {"director": "director", "boss": "boss"}[name])),
            by=getattr(company, name),
        )
        refresh(request)
    assert walked == chain
    assert request.status == Status.APPROVED and request.decided_at is not None
    assert request.current_step is None


def test_data_field_condition_leave_days(company):
    template_with_steps(
        "leave",
        {"name": "Manager", "approver_type": ApproverType.MANAGER},
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "condition": {
                "match": "all",
                "rules": [{"field": "data.days", "op": "gt", "value": "3"}],
            },
        },
        kind=Kind.LEAVE,
    )
    short = services.approval_start(
        template="leave",
        by=company.rep,
        title="Short",
        data={"type": "annual", "start": "2026-12-21", "end": "2026-12-23"},
    )
    long = services.approval_start(
        template="leave",
        by=company.rep2,
        title="Long",
        data={"type": "annual", "start": "2026-12-21", "end": "2026-12-25"},
    )
    assert short.data["days"] == "3.0" and long.data["days"] == "5.0"
    for task in list(pending_tasks_for(company.director)):
        services.approval_task_approve(task=task, by=company.director)
    assert refresh(short).status == Status.APPROVED
    assert refresh(long).status == Status.PENDING and owners(long) == {"boss"}


def test_no_applicable_step_approves_at_once(company):
    template_with_steps(
        "discount",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.director],
            "condition": {
                "match": "all",
                "rules": [{"field": "data.discount", "op": "gt", "value": "15"}],
            },
        },
        kind=Kind.DISCOUNT,
        extra_fields=[{"key": "discount", "type": "decimal", "required": True}],
    )
    request = services.approval_start(
        template="discount", by=company.rep, title="Q-1", amount="1000", data={"discount": "10"}
    )
    assert request.status == Status.APPROVED
    assert list(request.actions.values_list("kind", flat=True)) == ["submit", "complete"]


def test_countersign_needs_everyone(company):
    template_with_steps(
        "purchase",
        {
            "name": "Finance+CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.finance, company.boss],
            "mode": SignMode.COUNTERSIGN,
        },
        kind=Kind.PURCHASE,
    )
    request = services.approval_start(
        template="purchase",
        by=company.rep,
        title="Laptops",
        data={"lines": [{"item": "Laptop", "quantity": 2, "price": "5000"}]},
    )
    assert request.amount == Decimal("10000.00")
    assert owners(request) == {"fin", "boss"}
    services.approval_task_approve(task=task_of(company.finance), by=company.finance)
    assert refresh(request).status == Status.PENDING and owners(request) == {"boss"}
    services.approval_task_approve(task=task_of(company.boss), by=company.boss)
    assert refresh(request).status == Status.APPROVED


def test_countersign_one_rejection_rejects_and_cancels_the_rest(company):
    template_with_steps(
        "p",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.finance, company.boss, company.director],
            "mode": SignMode.COUNTERSIGN,
        },
        {"approver_type": ApproverType.USERS, "users": [company.root]},
    )
    request = services.approval_start(template="p", by=company.rep, title="x")
    services.approval_task_approve(task=task_of(company.finance), by=company.finance)
    services.approval_task_reject(
        task=task_of(company.boss), by=company.boss, comment="Too expensive"
    )
    refresh(request)
    assert request.status == Status.REJECTED and request.current_step == 0
    assert owners(request) == set()
    assert owners(request, STATUS.CANCELED) == {"director"}
    assert not pending_tasks_for(company.root).exists()
    note = Notification.objects.get(recipient=company.rep, verb="approval.rejected")
    assert "Too expensive" in note.message


def test_orsign_first_decision_wins_and_siblings_are_cancelled(company):
    template_with_steps(
        "o",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.finance, company.boss],
            "mode": SignMode.ORSIGN,
        },
    )
    request = services.approval_start(template="o", by=company.rep, title="x")
    sibling = task_of(company.boss)
    services.approval_task_approve(task=task_of(company.finance), by=company.finance)
    assert refresh(request).status == Status.APPROVED
    assert owners(request, STATUS.CANCELED) == {"boss"}
    with pytest.raises(ConflictError):
        services.approval_task_approve(task=sibling, by=company.boss)
    with pytest.raises(ConflictError):
        services.approval_task_reject(task=sibling, by=company.boss)


def test_second_click_is_a_conflict_and_changes_nothing(company):
    template_with_steps(
        "t",
        {"approver_type": ApproverType.MANAGER},
        {"approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = task_of(company.director)
    services.approval_task_approve(task=task, by=company.director)
    before = (Task.objects.count(), ApprovalAction.objects.count(), refresh(request).current_step)
    for act in (
        services.approval_task_approve,
        services.approval_task_reject,
        services.approval_task_return,
    ):
        with pytest.raises(ConflictError):
            act(task=task, by=company.director)
    with pytest.raises(ConflictError):
        services.approval_task_transfer(task=task, by=company.director, to=company.rep2)
    after = (Task.objects.count(), ApprovalAction.objects.count(), refresh(request).current_step)
    assert before == after


def test_only_the_assignee_decides(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = task_of(company.director)
    for who in (company.rep, company.boss, company.rep2, company.root):
        with pytest.raises(PermissionDenied):
            services.approval_task_approve(task=task, by=who)
    assert refresh(request).status == Status.PENDING
    assert Task.objects.get(pk=task.pk).status == STATUS.ASSIGNED


def test_return_resubmit_keeps_both_rounds(company):
    template_with_steps(
        "t",
        {"name": "Manager", "approver_type": ApproverType.MANAGER},
        {
            "name": "CEO",
            "approver_type": ApproverType.USERS,
            "users": [company.boss],
            "condition": amount_rule("gt", 1000),
        },
    )
    request = services.approval_start(template="t", by=company.rep, title="Trip", amount="500")
    services.approval_task_return(
        task=task_of(company.director), by=company.director, comment="Add the hotel"
    )
    refresh(request)
    assert request.status == Status.RETURNED
    assert Notification.objects.filter(recipient=company.rep, verb="approval.returned").exists()
    with pytest.raises(PermissionDenied):
        services.approval_resubmit(request=request, by=company.director, amount="2000")
    services.approval_resubmit(
        request=request, by=company.rep, amount="2000", title="Trip + hotel", comment="Hotel added"
    )
    refresh(request)
    assert request.round == 2 and request.status == Status.PENDING
    assert request.title == "Trip + hotel" and request.amount == Decimal("2000.00")
    services.approval_task_approve(task=task_of(company.director), by=company.director)
    services.approval_task_approve(task=task_of(company.boss), by=company.boss)
    assert refresh(request).status == Status.APPROVED
    history = list(request.actions.values_list("round", "kind"))
    assert history == [
        (1, "submit"),
        (1, "return"),
        (2, "resubmit"),
        (2, "approve"),
        (2, "approve"),
        (2, "complete"),
    ]
    with pytest.raises(ConflictError):
        services.approval_resubmit(request=request, by=company.rep)


def test_return_not_allowed_on_step(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER, "allow_return": False})
    request = services.approval_start(template="t", by=company.rep, title="x")
    with pytest.raises(ServiceError):
        services.approval_task_return(task=task_of(company.director), by=company.director)
    assert refresh(request).status == Status.PENDING


def test_withdraw_only_by_initiator_while_pending(company):
    template_with_steps(
        "t",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.director, company.boss],
            "mode": SignMode.COUNTERSIGN,
        },
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    services.approval_task_approve(task=task_of(company.director), by=company.director)
    for who in (company.director, company.boss, company.root):
        with pytest.raises(PermissionDenied):
            services.approval_withdraw(request=request, by=who)
    assert refresh(request).status == Status.PENDING
    services.approval_withdraw(request=request, by=company.rep, comment="Not needed")
    refresh(request)
    assert request.status == Status.WITHDRAWN
    assert owners(request) == set() and owners(request, STATUS.CANCELED) == {"boss"}
    assert request.process.status == "CANCELED"
    assert Notification.objects.filter(recipient=company.boss, verb="approval.withdrawn").exists()
    with pytest.raises(ConflictError):
        services.approval_withdraw(request=request, by=company.rep)
    # A withdrawn request may be submitted again.
    services.approval_resubmit(request=request, by=company.rep)
    assert refresh(request).status == Status.PENDING and request.round == 2
    assert owners(request) == {"director", "boss"}


def test_transfer_to_a_colleague(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = task_of(company.director)
    with pytest.raises(ServiceError):
        services.approval_task_transfer(task=task, by=company.director, to=company.director)
    with pytest.raises(ServiceError):
        services.approval_task_transfer(task=task, by=company.director, to=999999)
    services.approval_task_transfer(
        task=task, by=company.director, to=company.rep2, comment="On holiday"
    )
    assert owners(request) == {"rep2"}
    with pytest.raises(PermissionDenied):
        services.approval_task_approve(task=task, by=company.director)
    assert Notification.objects.filter(recipient=company.rep2, verb="approval.assigned").exists()
    services.approval_task_approve(task=task, by=company.rep2)
    assert refresh(request).status == Status.APPROVED
    transfer = request.actions.get(kind=ApprovalAction.Kind.TRANSFER)
    assert (transfer.actor, transfer.target, transfer.comment) == (
        company.director,
        company.rep2,
        "On holiday",
    )
    # Both the old and the new assignee may still see the request.
    visible = ApprovalRequest.objects.visible_to
    assert visible(company.director).filter(pk=request.pk).exists()
    assert visible(company.rep2).filter(pk=request.pk).exists()


def test_transfer_refuses_someone_already_on_the_step(company):
    template_with_steps(
        "t",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.director, company.boss],
            "mode": SignMode.COUNTERSIGN,
        },
    )
    services.approval_start(template="t", by=company.rep, title="x")
    with pytest.raises(ServiceError):
        services.approval_task_transfer(
            task=task_of(company.director), by=company.director, to=company.boss
        )


def test_comments_by_assignee_and_initiator(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    request = services.approval_start(template="t", by=company.rep, title="x")
    services.approval_task_comment(
        task=task_of(company.director), by=company.director, comment="Which customer?"
    )
    services.approval_comment(request=request, by=company.rep, comment="ACME")
    with pytest.raises(PermissionDenied):
        services.approval_comment(request=request, by=company.outsider, comment="hi")
    with pytest.raises(ServiceError):
        services.approval_comment(request=request, by=company.rep, comment="  ")
    comments = list(
        request.actions.filter(kind="comment").values_list("actor__username", "comment")
    )
    assert comments == [("director", "Which customer?"), ("rep", "ACME")]
    assert Notification.objects.filter(recipient=company.rep, verb="approval.comment").exists()
    assert Notification.objects.filter(recipient=company.director, verb="approval.comment").exists()
    assert refresh(request).status == Status.PENDING


def test_cc_users_and_roles_hear_when_the_step_completes(company):
    hr = role_with("人事", company.outsider)
    template_with_steps(
        "t",
        {"approver_type": ApproverType.MANAGER, "cc_users": [company.rep2], "cc_roles": [hr]},
        {"approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    assert not Notification.objects.filter(verb="approval.cc").exists()
    services.approval_task_approve(task=task_of(company.director), by=company.director)
    cc = set(
        Notification.objects.filter(verb="approval.cc").values_list(
            "recipient__username", flat=True
        )
    )
    assert cc == {"rep2", "outsider"}
    assert set(
        request.participants.filter(kind=ApprovalParticipant.Kind.CC).values_list(
            "user__username", flat=True
        )
    ) == {"rep2", "outsider"}
    assert ApprovalRequest.objects.visible_to(company.outsider).filter(pk=request.pk).exists()
    assert request.actions.filter(kind=ApprovalAction.Kind.CC).count() == 1


def test_notifications_next_approvers_and_initiator_on_each_decision(company):
    template_with_steps(
        "t",
        {"approver_type": ApproverType.MANAGER},
        {"approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    assert (
        Notification.objects.filter(
            recipient=company.director, verb="approval.assigned", target_id=request.pk
        ).count()
        == 1
    )
    assert not Notification.objects.filter(recipient=company.boss).exists()
    services.approval_task_approve(task=task_of(company.director), by=company.director)
    assert (
        Notification.objects.filter(recipient=company.boss, verb="approval.assigned").count() == 1
    )
    assert Notification.objects.filter(recipient=company.rep, verb="approval.approve").count() == 1
    services.approval_task_approve(task=task_of(company.boss), by=company.boss)
    assert Notification.objects.filter(recipient=company.rep, verb="approval.approved").count() == 1


def test_template_edits_do_not_touch_running_requests(company):
    template = template_with_steps(
        "t",
        {"name": "Manager", "approver_type": ApproverType.MANAGER},
        {"name": "CEO", "approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x", amount="10")
    # The admin rewrites the chain while the request waits.
    step_ceo = template.steps.get(name="CEO")
    step_ceo.approver_users.set([company.finance])
    step_ceo.condition = amount_rule("gt", 1000000)
    step_ceo.save()
    ApprovalStep.objects.create(
        template=template, order=9, name="Extra", approver_type=ApproverType.USERS
    )
    template.steps.filter(name="Manager").update(name="Renamed")
    services.approval_task_approve(task=task_of(company.director), by=company.director)
    refresh(request)
    assert [s["name"] for s in request.steps] == ["Manager", "CEO"]
    assert owners(request) == {"boss"}
    services.approval_task_approve(task=task_of(company.boss), by=company.boss)
    assert refresh(request).status == Status.APPROVED
    # A new request uses the edited template.
    fresh = services.approval_start(template="t", by=company.rep, title="y", amount="10")
    assert [s["name"] for s in fresh.steps] == ["Renamed", "CEO", "Extra"]


def test_who_may_start(company):
    template = template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    finance_role = role_with("财务")
    template.start_roles.set([finance_role])
    template.start_departments.set([company.hq])
    with pytest.raises(PermissionDenied):
        services.approval_start(template="t", by=company.rep, title="x")
    services.approval_start(template="t", by=company.finance, title="by role")
    services.approval_start(template="t", by=company.boss, title="by department")
    template.active = False
    template.save()
    with pytest.raises(ServiceError):
        services.approval_start(template="t", by=company.finance, title="inactive")


def test_start_validates_meaning(company):
    template_with_steps("leave", {"approver_type": ApproverType.MANAGER}, kind=Kind.LEAVE)
    with pytest.raises(ServiceError) as exc:
        services.approval_start(
            template="leave",
            by=company.rep,
            title="x",
            data={"type": "annual", "start": "2026-12-05", "end": "2026-12-01"},
        )
    assert exc.value.errors == {"data.end": ["The leave ends before it starts."]}
    with pytest.raises(ServiceError) as exc:
        services.approval_start(template="leave", by=company.rep, title=" ", data={})
    assert "title" in exc.value.errors
    with pytest.raises(ServiceError):
        services.approval_start(template="nope", by=company.rep, title="x")
    assert not ApprovalRequest.objects.exists()


def test_template_by_id_or_code(company):
    template = template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    assert (
        services.approval_start(template=template.pk, by=company.rep, title="a").template
        == template
    )
    assert (
        services.approval_start(template=str(template.pk), by=company.rep, title="b").template
        == template
    )


def test_outcome_handler_and_signal_after_commit(company, django_capture_on_commit_callbacks):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    record = Record.objects.create(owner=company.rep, title="Contract 1")
    calls, signals = [], []

    def handler(request, outcome):
        calls.append((request.subject, outcome))

    def receiver(sender, request, outcome, by, **kwargs):
        signals.append((request.pk, outcome, by))

    register_outcome_handler(Record, handler)
    approval_decided.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            request = services.approval_start(
                template="t", by=company.rep, title="x", subject=record
            )
        assert calls == [] and signals == []
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.approval_task_return(task=task_of(company.director), by=company.director)
        assert calls == [(record, "returned")]
        assert signals == []  # not before the commit
        for callback in callbacks:
            callback()
        assert signals == [(request.pk, "returned", company.director)]
        with django_capture_on_commit_callbacks(execute=True):
            services.approval_resubmit(request=request, by=company.rep)
            services.approval_task_approve(task=task_of(company.director), by=company.director)
        assert [o for _s, o in calls] == ["returned", "resubmitted", "approved"]
        assert [o for _p, o, _b in signals] == ["returned", "resubmitted", "approved"]
        assert refresh(request).subject == record and request.subject_label == "testapp.record"
    finally:
        unregister_outcome_handler("testapp.record", handler)
        approval_decided.disconnect(receiver)


def test_a_failing_outcome_handler_undoes_the_decision(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER})
    record = Record.objects.create(owner=company.rep, title="Contract 1")

    def handler(request, outcome):
        raise ServiceError("The contract can't be approved now.")

    request = services.approval_start(template="t", by=company.rep, title="x", subject=record)
    register_outcome_handler("testapp.record", handler)
    try:
        with pytest.raises(ServiceError):
            services.approval_task_approve(task=task_of(company.director), by=company.director)
    finally:
        unregister_outcome_handler("testapp.record", handler)
    assert refresh(request).status == Status.PENDING
    assert task_of(company.director).status == STATUS.ASSIGNED


def test_overdue_reminder_once_per_task(company):
    template_with_steps("t", {"approver_type": ApproverType.MANAGER, "due_hours": 24})
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = task_of(company.director)
    assert task.scheduled == task.created + dt.timedelta(hours=24)
    assert services.approval_remind_overdue() == 0
    later = timezone.now() + dt.timedelta(hours=25)
    assert services.approval_remind_overdue(now=later) == 1
    assert services.approval_remind_overdue(now=later) == 0
    assert (
        Notification.objects.filter(recipient=company.director, verb="approval.overdue").count()
        == 1
    )
    assert (
        Notification.objects.filter(recipient=company.root, verb="approval.overdue_admin").count()
        == 1
    )
    assert request.actions.filter(kind=ApprovalAction.Kind.REMIND).count() == 1
    # A transfer gives the new assignee their own reminder.
    services.approval_task_transfer(task=task, by=company.director, to=company.rep2)
    assert services.approval_remind_overdue(now=later) == 1
    assert Notification.objects.filter(recipient=company.rep2, verb="approval.overdue").count() == 1


def test_celery_task_runs_the_sweep(company):
    from apps.approvals.tasks import approval_remind_overdue

    template_with_steps("t", {"approver_type": ApproverType.MANAGER, "due_hours": 1})
    services.approval_start(template="t", by=company.rep, title="x")
    Task.objects.filter(owner=company.director).update(
        scheduled=timezone.now() - dt.timedelta(minutes=1)
    )
    assert approval_remind_overdue.delay().get() == 1
