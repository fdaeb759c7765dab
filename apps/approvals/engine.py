"""What the flow and the services share: the request being worked on, timeline rows,
participants and notifications. Not a public API (use `services`)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify

from .models import ApprovalAction, ApprovalParticipant, ApprovalRequest

User = get_user_model()

_current: ContextVar[ApprovalRequest | None] = ContextVar("approvals_current", default=None)


@contextmanager
def bound(request: ApprovalRequest):
    """Make the flow's nodes work on this (locked) request instance, not a second copy of it."""
    token = _current.set(request)
    try:
        yield request
    finally:
        _current.reset(token)


def request_for(process) -> ApprovalRequest:
    request = _current.get()
    if request is not None and request.pk == process.artifact_object_id:
        return request
    return ApprovalRequest.objects.select_related("initiator", "department").get(
        pk=process.artifact_object_id
    )


def update_request(request: ApprovalRequest, **changes) -> None:
    """Write a few state columns of the (locked) request and keep the instance in step.

    A plain UPDATE: these columns carry no custom-field values, so the model's save() (and its
    unique-value bookkeeping) has nothing to do."""
    changes["updated_at"] = timezone.now()
    ApprovalRequest.objects.filter(pk=request.pk).update(**changes)
    for name, value in changes.items():
        setattr(request, name, value)


def step_of(request: ApprovalRequest, index: int | None) -> dict:
    steps = request.steps
    if index is None or not 0 <= index < len(steps):
        return {}
    return steps[index]


def record(
    request: ApprovalRequest,
    kind: str,
    *,
    actor=None,
    step_index=None,
    comment="",
    target=None,
    task_id=None,
    payload=None,
) -> ApprovalAction:
    step = step_of(request, step_index)
    return ApprovalAction.objects.create(
        request=request,
        round=request.round,
        step_index=step_index,
        step_name=step.get("name", "")[:100],
        kind=kind,
        actor=actor,
        target=target,
        comment=comment or "",
        task_id=task_id,
        payload=payload or {},
    )


def add_participants(request: ApprovalRequest, users: Iterable, kind: str) -> None:
    rows = [
        ApprovalParticipant(request=request, user_id=getattr(u, "pk", u), kind=kind) for u in users
    ]
    if rows:
        ApprovalParticipant.objects.bulk_create(rows, ignore_conflicts=True)


def _send(recipients, event: str, request: ApprovalRequest, message: str, actor=None) -> None:
    notify.send(
        recipients, event, request, message=message, url=request.get_absolute_url(), actor=actor
    )


def notify_assigned(request: ApprovalRequest, users, *, actor=None) -> None:
    _send(
        users,
        "approval.assigned",
        request,
        _("%(initiator)s asks for your approval: %(title)s")
        % {"initiator": request.initiator, "title": request.title},
        actor=actor,
    )


def notify_decision(
    request: ApprovalRequest, kind: str, *, actor, step_name: str, comment: str = ""
) -> None:
    """The initiator hears of each approver's decision on a step."""
    verbs = {
        ApprovalAction.Kind.APPROVE: _("%(actor)s approved “%(title)s” (%(step)s)"),
        ApprovalAction.Kind.REJECT: _("%(actor)s rejected “%(title)s” (%(step)s)"),
        ApprovalAction.Kind.RETURN: _("%(actor)s returned “%(title)s” to you (%(step)s)"),
    }
    message = verbs[kind] % {"actor": actor, "title": request.title, "step": step_name}
    if comment:
        message = f"{message}: {comment}"
    _send([request.initiator], f"approval.{kind}", request, message, actor=actor)


def notify_outcome(
    request: ApprovalRequest, outcome: str, *, actor=None, comment: str = ""
) -> None:
    messages = {
        ApprovalRequest.Status.APPROVED: _("Your request “%(title)s” was approved."),
        ApprovalRequest.Status.REJECTED: _("Your request “%(title)s” was rejected by %(actor)s."),
        ApprovalRequest.Status.RETURNED: _(
            "Your request “%(title)s” was returned to you by %(actor)s for changes."
        ),
    }
    message = messages[outcome] % {"title": request.title, "actor": actor or "-"}
    if comment:
        message = f"{message} {comment}"
    # The initiator hears of the outcome even when they decided the last step themselves.
    notify.send(
        [request.initiator],
        f"approval.{outcome}",
        request,
        message=message,
        url=request.get_absolute_url(),
        actor=None,
    )


def notify_cc(request: ApprovalRequest, step: dict, outcome: str) -> list:
    users = list(
        User.objects.filter(is_active=True).filter(pk__in=step.get("cc_users") or []).order_by("pk")
    )
    if step.get("cc_roles"):
        users += list(
            User.objects.filter(is_active=True, groups__pk__in=step["cc_roles"])
            .distinct()
            .order_by("pk")
        )
    users = list({u.pk: u for u in users}.values())
    if not users:
        return []
    add_participants(request, users, ApprovalParticipant.Kind.CC)
    outcome_text = {
        "approved": _("approved"),
        "rejected": _("rejected"),
        "returned": _("returned"),
    }.get(outcome, outcome)
    _send(
        users,
        "approval.cc",
        request,
        _("For your information: step “%(step)s” of “%(title)s” by %(initiator)s was %(outcome)s.")
        % {
            "step": step.get("name", ""),
            "title": request.title,
            "initiator": request.initiator,
            "outcome": outcome_text,
        },
    )
    return users


def admins():
    return list(User.objects.filter(is_superuser=True, is_active=True).order_by("pk"))


def notify_fallback(request: ApprovalRequest, step: dict, fallback) -> None:
    _send(
        admins(),
        "approval.fallback",
        request,
        _(
            "Nobody matched the approver rule of step “%(step)s” in “%(title)s”; it went to "
            "%(fallback)s. Check the approval template."
        )
        % {"step": step.get("name", ""), "title": request.title, "fallback": fallback},
    )
