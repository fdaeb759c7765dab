"""Reads for approvals, scoped to the user and shaped for a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Prefetch, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from .chain import resolve_approvers, step_applies
from .engine import step_of
from .flows import ApprovalFlow
from .models import (
    ApprovalAction,
    ApprovalAttachment,
    ApprovalParticipant,
    ApprovalRequest,
    ApprovalTemplate,
)


def pending_tasks_for(user) -> QuerySet[Task]:
    """The approver tasks waiting for `user`, oldest first, each with its request loaded
    (`task.process.approval_request`). The to-do inbox registers this selector."""
    if not user.is_authenticated:
        return Task.objects.none()
    return (
        Task.objects.filter(owner=user, status=STATUS.ASSIGNED, flow_task=ApprovalFlow.approve)
        .select_related(
            "process__approval_request__initiator",
            "process__approval_request__template",
            "process__approval_request__department",
        )
        .order_by("created", "pk")
    )


def pending_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Task.objects.filter(
        owner=user, status=STATUS.ASSIGNED, flow_task=ApprovalFlow.approve
    ).count()


def tasks_of_user(user) -> QuerySet[Task]:
    """Every approver task `user` holds, whatever its state (actions answer 409 on old ones)."""
    return Task.objects.filter(owner=user, flow_task=ApprovalFlow.approve).select_related(
        "process__approval_request__initiator", "process__approval_request__template"
    )


def task_request(task: Task) -> ApprovalRequest | None:
    return getattr(task.process, "approval_request", None)


def step_name(task: Task) -> str:
    request = task_request(task)
    if request is None:
        return ""
    return step_of(request, task.data.get("step")).get("name", "")


def startable_templates(user) -> list[ApprovalTemplate]:
    from .services import may_start

    templates = (
        ApprovalTemplate.objects.filter(active=True)
        .prefetch_related("start_roles", "start_departments")
        .order_by("order", "name")
    )
    return [t for t in templates if may_start(t, user)]


def request_list(*, user, filters: Mapping | None = None) -> QuerySet[ApprovalRequest]:
    """Requests `user` may see (own, in scope, approver or CC), newest first."""
    filters = filters or {}
    qs = ApprovalRequest.objects.visible_to(user).select_related(
        "template", "initiator", "department"
    )
    status = filters.get("status")
    if status in ApprovalRequest.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def my_requests(*, user, status: str | None = None) -> QuerySet[ApprovalRequest]:
    qs = ApprovalRequest.objects.filter(initiator_id=user.pk).select_related(
        "template", "department"
    )
    if status in ApprovalRequest.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def cc_requests(*, user) -> QuerySet[ApprovalRequest]:
    ids = ApprovalParticipant.objects.filter(user_id=user.pk, kind=ApprovalParticipant.Kind.CC)
    return (
        ApprovalRequest.objects.filter(pk__in=ids.values("request_id"))
        .select_related("template", "initiator", "department")
        .order_by("-created_at", "-id")
    )


def request_detail(*, user, pk: int) -> ApprovalRequest:
    """One request the user may see (DoesNotExist otherwise), with timeline and files loaded."""
    return (
        ApprovalRequest.objects.visible_to(user)
        .select_related("template", "initiator", "department", "subject_type")
        .prefetch_related(
            Prefetch(
                "actions",
                queryset=ApprovalAction.objects.select_related("actor", "target").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("attachments", queryset=ApprovalAttachment.objects.order_by("line", "id")),
        )
        .get(pk=pk)
    )


def current_tasks(request: ApprovalRequest) -> list[Task]:
    """The approver tasks of the step being decided now (waiting, done or cancelled)."""
    if request.process_id is None or request.current_step is None:
        return []
    tasks = (
        Task.objects.filter(process_id=request.process_id, flow_task=ApprovalFlow.approve)
        .select_related("owner")
        .order_by("pk")
    )
    return [t for t in tasks if t.data.get("step") == request.current_step]


def chain_view(request: ApprovalRequest, tasks: list[Task] | None = None) -> list[dict]:
    """Every frozen step with its state for this round: done, current (with its tasks),
    ahead (with the approvers it would have now) or skipped (condition not met)."""
    rows = []
    current = request.current_step
    finished = request.status == ApprovalRequest.Status.APPROVED
    for index, step in enumerate(request.steps):
        applies = step_applies(
            step, amount=request.amount, department=request.department, data=request.data
        )
        row = {
            "index": index,
            "step": step,
            "applies": applies,
            "state": "skipped",
            "approvers": [],
            "tasks": [],
        }
        if not applies:
            rows.append(row)
            continue
        if finished or (current is not None and index < current):
            row["state"] = "done"
        elif current is not None and index == current:
            row["state"] = "current"
            row["tasks"] = tasks if tasks is not None else current_tasks(request)
        elif request.status == ApprovalRequest.Status.PENDING:
            row["state"] = "ahead"
            row["approvers"] = resolve_approvers(
                step,
                initiator=request.initiator,
                department=request.department,
                subject=request.subject if request.subject_type_id else None,
            )
        else:
            row["state"] = "not_reached"
        rows.append(row)
    return rows
