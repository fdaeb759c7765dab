"""Every write on approvals: start, decide, transfer, comment, withdraw, resubmit.

Each service is atomic and locks the request row (SELECT … FOR UPDATE) before it touches the
flow, so two approvers clicking at once, or one approver clicking twice, make exactly one
transition; the loser gets `ConflictError` (HTTP 409). viewflow's own lock then holds the
process row. Views, the API, admin actions, other apps (`sales` submits contracts) and the
automation engine all call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.org.errors import ConflictError, ServiceError
from apps.org.storage import remove_stored
from apps.studio.validation import validate_custom

from . import engine
from .chain import freeze
from .data import clean_request_data
from .flows import APPROVE, REJECT, RETURN, ApprovalFlow
from .hooks import outcome_reached
from .models import (
    ApprovalAction,
    ApprovalAttachment,
    ApprovalParticipant,
    ApprovalRequest,
    ApprovalTemplate,
)

User = get_user_model()

MAX_COMMENT = 2000
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


# --- helpers ----------------------------------------------------------------------------------


def get_template(template) -> ApprovalTemplate:
    """A template given as an object, an id or a code."""
    if isinstance(template, ApprovalTemplate):
        return template
    qs = ApprovalTemplate.objects.all()
    found = None
    if isinstance(template, int) or (isinstance(template, str) and template.isdigit()):
        found = qs.filter(pk=int(template)).first()
    if found is None and isinstance(template, str):
        found = qs.filter(code=template).first()
    if found is None:
        raise ServiceError(_("No such approval template."), field="template")
    return found


def may_start(template: ApprovalTemplate, user) -> bool:
    """Whether `user` may start requests from `template` (roles/departments; empty = all)."""
    if not user.is_authenticated or not user.is_active or not template.active:
        return False
    if user.is_superuser:
        return True
    role_ids = {g.pk for g in template.start_roles.all()}
    dept_ids = {d.pk for d in template.start_departments.all()}
    if not role_ids and not dept_ids:
        return True
    if dept_ids and user.department_id in dept_ids:
        return True
    return bool(role_ids & _group_ids(user))


def _group_ids(user) -> set[int]:
    # Cached on the user object for the request, like Django's own permission cache.
    ids = getattr(user, "_approvals_group_ids", None)
    if ids is None:
        ids = set(user.groups.values_list("pk", flat=True))
        user._approvals_group_ids = ids
    return ids


def _comment(text) -> str:
    text = (text or "").strip()
    if len(text) > MAX_COMMENT:
        raise ServiceError(
            _("The comment is too long (at most %(n)s characters).") % {"n": MAX_COMMENT},
            field="comment",
        )
    return text


def _lock(request_pk: int) -> ApprovalRequest:
    """The request row, locked until the transaction ends (blocking: callers queue up)."""
    try:
        return (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("initiator", "department")
            .get(pk=request_pk)
        )
    except ApprovalRequest.DoesNotExist:
        raise ServiceError(_("No such approval request.")) from None


def _clean(template_kind: str, chain: Mapping, data, amount) -> tuple[dict, Decimal]:
    clean, clean_amount, errors = clean_request_data(
        template_kind, chain.get("extra_fields"), data, amount
    )
    if errors:
        raise ServiceError(
            _("Check the form."),
            errors={("amount" if k == "amount" else f"data.{k}"): v for k, v in errors.items()},
        )
    return clean, clean_amount


def _custom(raw, instance=None) -> dict:
    clean, errors = validate_custom(
        ApprovalRequest, raw, instance=instance, partial=instance is not None
    )
    if errors:
        raise ServiceError(
            _("Check the form."), errors={f"custom.{k}": v for k, v in errors.items()}
        )
    return clean


def _save_attachments(request: ApprovalRequest, files: Iterable, by) -> list[ApprovalAttachment]:
    """`files`: UploadedFile objects or (UploadedFile, expense line index) pairs."""
    saved = []
    try:
        for item in files or []:
            upload, line = item if isinstance(item, tuple) else (item, None)
            if not isinstance(upload, UploadedFile):
                raise ServiceError(_("Not an uploaded file."), field="attachments")
            if upload.size > MAX_ATTACHMENT_BYTES:
                raise ServiceError(
                    _("A file may be at most %(n)s MB.")
                    % {"n": MAX_ATTACHMENT_BYTES // (1024 * 1024)},
                    field="attachments",
                )
            name = (upload.name or "file").rsplit("/", 1)[-1][:200]
            att = ApprovalAttachment(
                request=request, name=name, size=upload.size or 0, line=line, uploaded_by=by
            )
            att.file.save(name, upload, save=False)
            saved.append(att)
            att.save()
    except Exception:
        remove_stored([att.file for att in saved])  # rows roll back: files must go too
        raise
    if saved:
        lines = request.data.get("lines")
        changed = False
        for att in saved:
            if att.line is not None and isinstance(lines, list) and att.line < len(lines):
                lines[att.line]["receipt"] = att.pk
                changed = True
        if changed:
            request.save(update_fields=["data", "updated_at"])
    return saved


def _start_round(request: ApprovalRequest) -> None:
    with engine.bound(request):
        process = ApprovalFlow.start.run(request=request)
    engine.update_request(request, process=process)


def _flow_errors():
    # A flow refusing a transition means the task moved under us: report a conflict.
    return (TransitionNotAllowed, FlowLockFailed)


# --- start ------------------------------------------------------------------------------------


@transaction.atomic
def approval_start(
    *,
    template,
    by,
    title: str,
    amount=None,
    data: Mapping | None = None,
    subject: models.Model | None = None,
    custom: Mapping | None = None,
    attachments: Iterable | None = None,
) -> ApprovalRequest:
    """Submit a request from `template` (object, id or code) on behalf of `by`.

    Validates the form data (typed kind fields, extra fields, custom fields), freezes the
    template onto the request and starts the flow: the first applicable step's approvers are
    assigned and notified. A request whose steps all don't apply is approved at once.
    Other apps pass `subject` (a contract, a quote) and listen for the outcome (see hooks).
    """
    template = get_template(template)
    if not template.active:
        raise ServiceError(_("This approval template is not active."), field="template")
    if not may_start(template, by):
        raise PermissionDenied(_("You may not start this kind of request."))
    title = (title or "").strip()
    if not title:
        raise ServiceError(_("Give the request a title."), field="title")
    if len(title) > 200:
        raise ServiceError(_("The title is too long (at most 200 characters)."), field="title")
    chain = freeze(template)
    clean, clean_amount = _clean(template.kind, chain, data, amount)
    request = ApprovalRequest(
        template=template,
        title=title,
        amount=clean_amount,
        data=clean,
        initiator=by,
        department=by.department,
        status=ApprovalRequest.Status.PENDING,
        chain=chain,
        custom=_custom(custom),
        round=1,
    )
    if subject is not None:
        if subject.pk is None:
            raise ServiceError(_("Save the subject before asking for its approval."))
        request.subject_type = ContentType.objects.get_for_model(subject)
        request.subject_id = subject.pk
    request.save()
    _save_attachments(request, attachments, by)
    engine.record(request, ApprovalAction.Kind.SUBMIT, actor=by)
    _start_round(request)
    return request


# --- decisions on a task ----------------------------------------------------------------------


def _task_request_pk(task) -> tuple[int, int]:
    task_pk = task.pk if isinstance(task, Task) else int(task)
    row = (
        Task.objects.filter(pk=task_pk, flow_task=ApprovalFlow.approve)
        .values_list("process__artifact_object_id", flat=True)
        .first()
    )
    if row is None:
        raise ServiceError(_("No such approval task."))
    return task_pk, row


def _locked_task(task, by) -> tuple[Task, ApprovalRequest]:
    """Lock the request, then re-read the task: only its assignee, only while it waits."""
    task_pk, request_pk = _task_request_pk(task)
    request = _lock(request_pk)
    task = Task.objects.get(pk=task_pk)
    if task.owner_id != by.pk:
        raise PermissionDenied(_("This task is not assigned to you."))
    if (
        task.status != STATUS.ASSIGNED
        or request.status != ApprovalRequest.Status.PENDING
        or task.process_id != request.process_id
    ):
        raise ConflictError(_("This approval task has already been decided."))
    return task, request


def _decide(task, by, decision: str, comment) -> ApprovalRequest:
    comment = _comment(comment)
    task, request = _locked_task(task, by)
    index = task.data.get("step")
    step = engine.step_of(request, index)
    if decision == RETURN and not step.get("allow_return", True):
        raise ServiceError(_("This step does not allow returning the request."))
    kind = {
        APPROVE: ApprovalAction.Kind.APPROVE,
        REJECT: ApprovalAction.Kind.REJECT,
        RETURN: ApprovalAction.Kind.RETURN,
    }[decision]
    engine.record(request, kind, actor=by, step_index=index, comment=comment, task_id=task.pk)
    try:
        with engine.bound(request), task.activation() as activation:
            activation.start(None)
            activation.task.data.update(
                decision=decision,
                comment=comment,
                decided_by=by.pk,
                decided_at=timezone.now().isoformat(),
            )
            activation.execute()
    except _flow_errors() as exc:
        raise ConflictError(_("This approval task has already been decided.")) from exc
    if request.status == ApprovalRequest.Status.PENDING:
        engine.notify_decision(
            request, kind, actor=by, step_name=step.get("name", ""), comment=comment
        )
    return request


@transaction.atomic
def approval_task_approve(*, task, by, comment: str = "") -> ApprovalRequest:
    """Approve one task; completes the step for or-sign, or when all countersigners agreed."""
    return _decide(task, by, APPROVE, comment)


@transaction.atomic
def approval_task_reject(*, task, by, comment: str = "") -> ApprovalRequest:
    """Reject: the step and the whole request are rejected at once."""
    return _decide(task, by, REJECT, comment)


@transaction.atomic
def approval_task_return(*, task, by, comment: str = "") -> ApprovalRequest:
    """Send the request back to the initiator, who may edit and resubmit it."""
    return _decide(task, by, RETURN, comment)


@transaction.atomic
def approval_task_transfer(*, task, by, to, comment: str = "") -> Task:
    """Hand one's task to a colleague, who decides in one's place."""
    comment = _comment(comment)
    if not isinstance(to, User):
        to = User.objects.filter(pk=to).first() if str(to).isdigit() else None
    if to is None or not to.is_active:
        raise ServiceError(_("Choose an active colleague."), field="to")
    task, request = _locked_task(task, by)
    if to.pk == by.pk:
        raise ServiceError(_("The task is already yours."), field="to")
    siblings = Task.objects.filter(
        process_id=task.process_id, flow_task=ApprovalFlow.approve, status=STATUS.ASSIGNED, owner=to
    ).exclude(pk=task.pk)
    if siblings.exists():
        raise ServiceError(
            _("%(user)s already has a task on this step.") % {"user": to}, field="to"
        )
    try:
        with engine.bound(request), task.activation() as activation:
            activation.reassign(user=to)
            activation.task.data.pop("reminded_at", None)
            activation.task.data.setdefault("transferred_from", []).append(by.pk)
            activation.task.save(update_fields=["owner", "data"])
    except _flow_errors() as exc:
        raise ConflictError(_("This approval task has already been decided.")) from exc
    index = task.data.get("step")
    engine.record(
        request,
        ApprovalAction.Kind.TRANSFER,
        actor=by,
        step_index=index,
        target=to,
        comment=comment,
        task_id=task.pk,
    )
    engine.add_participants(request, [to], ApprovalParticipant.Kind.APPROVER)
    engine.notify_assigned(request, [to], actor=by)
    task.refresh_from_db()
    return task


@transaction.atomic
def approval_task_comment(*, task, by, comment: str) -> ApprovalAction:
    """An assignee adds a comment to the timeline without deciding."""
    task, request = _locked_task(task, by)
    return _add_comment(request, by, comment, step_index=task.data.get("step"), task_id=task.pk)


def may_view(request: ApprovalRequest, user) -> bool:
    return ApprovalRequest.objects.visible_to(user).filter(pk=request.pk).exists()


@transaction.atomic
def approval_comment(*, request: ApprovalRequest, by, comment: str) -> ApprovalAction:
    """Anyone who may see a request may comment on it (the initiator answering a question)."""
    if not may_view(request, by):
        raise PermissionDenied
    request = _lock(request.pk)
    return _add_comment(request, by, comment, step_index=request.current_step)


def _add_comment(request, by, comment, *, step_index=None, task_id=None) -> ApprovalAction:
    comment = _comment(comment)
    if not comment:
        raise ServiceError(_("Write a comment."), field="comment")
    action = engine.record(
        request,
        ApprovalAction.Kind.COMMENT,
        actor=by,
        step_index=step_index,
        comment=comment,
        task_id=task_id,
    )
    recipients = [request.initiator] + list(User.objects.filter(pk__in=_pending_owner_ids(request)))
    engine._send(
        recipients,
        "approval.comment",
        request,
        _("%(actor)s commented on “%(title)s”: %(comment)s")
        % {"actor": by, "title": request.title, "comment": comment[:200]},
        actor=by,
    )
    return action


def _pending_owner_ids(request: ApprovalRequest) -> list[int]:
    if request.process_id is None:
        return []
    return list(
        Task.objects.filter(
            process_id=request.process_id, flow_task=ApprovalFlow.approve, status=STATUS.ASSIGNED
        ).values_list("owner_id", flat=True)
    )


# --- the initiator ----------------------------------------------------------------------------


@transaction.atomic
def approval_withdraw(*, request: ApprovalRequest, by, comment: str = "") -> ApprovalRequest:
    """The initiator takes back a pending request; open tasks are cancelled."""
    comment = _comment(comment)
    request = _lock(request.pk)
    if request.initiator_id != by.pk:
        raise PermissionDenied(_("Only the initiator may withdraw a request."))
    if request.status != ApprovalRequest.Status.PENDING:
        raise ConflictError(_("Only a pending request can be withdrawn."))
    waiting = _pending_owner_ids(request)
    if request.process_id is not None:
        try:
            with engine.bound(request):
                ApprovalFlow.instance.cancel(request.process)
        except _flow_errors() as exc:
            raise ConflictError(_("The request changed meanwhile; try again.")) from exc
    engine.update_request(
        request, status=ApprovalRequest.Status.WITHDRAWN, decided_at=timezone.now()
    )
    engine.record(
        request,
        ApprovalAction.Kind.WITHDRAW,
        actor=by,
        step_index=request.current_step,
        comment=comment,
    )
    if waiting:
        engine._send(
            list(User.objects.filter(pk__in=waiting)),
            "approval.withdrawn",
            request,
            _("%(initiator)s withdrew “%(title)s”; nothing left to approve.")
            % {"initiator": by, "title": request.title},
            actor=by,
        )
    outcome_reached(request, "withdrawn", by=by)
    return request


@transaction.atomic
def approval_resubmit(
    *,
    request: ApprovalRequest,
    by,
    title: str | None = None,
    amount=None,
    data: Mapping | None = None,
    custom: Mapping | None = None,
    attachments: Iterable | None = None,
    comment: str = "",
) -> ApprovalRequest:
    """After a return (or a withdrawal) the initiator edits and submits again: a new round.

    The request keeps its frozen chain and its history; approval starts again at the first
    applicable step (conditions are evaluated on the new data). Values not given are kept.
    """
    comment = _comment(comment)
    request = _lock(request.pk)
    if request.initiator_id != by.pk:
        raise PermissionDenied(_("Only the initiator may resubmit a request."))
    if request.status not in (ApprovalRequest.Status.RETURNED, ApprovalRequest.Status.WITHDRAWN):
        raise ConflictError(_("Only a returned or withdrawn request can be resubmitted."))
    if title is not None:
        title = title.strip()
        if not title or len(title) > 200:
            raise ServiceError(
                _("Give the request a title of at most 200 characters."), field="title"
            )
        request.title = title
    if data is not None or amount is not None:
        raw = data if data is not None else request.data
        raw_amount = amount if amount is not None else request.amount
        request.data, request.amount = _clean(request.kind, request.chain, raw, raw_amount)
    if custom is not None:
        request.custom = _custom(custom, instance=request)
    request.round += 1
    request.status = ApprovalRequest.Status.PENDING
    request.decided_at = None
    request.current_step = None
    request.submitted_at = timezone.now()
    request.save()
    _save_attachments(request, attachments, by)
    engine.record(request, ApprovalAction.Kind.RESUBMIT, actor=by, comment=comment)
    outcome_reached(request, "resubmitted", by=by)
    _start_round(request)
    return request


@transaction.atomic
def approval_attach(*, request: ApprovalRequest, by, files: Iterable) -> list[ApprovalAttachment]:
    """The initiator adds files to their request while it is pending or returned."""
    request = _lock(request.pk)
    if request.initiator_id != by.pk:
        raise PermissionDenied(_("Only the initiator may add files."))
    if request.status not in (ApprovalRequest.Status.PENDING, ApprovalRequest.Status.RETURNED):
        raise ConflictError(_("Files can only be added while the request is open."))
    return _save_attachments(request, files, by)


# --- due times --------------------------------------------------------------------------------


def approval_remind_overdue(*, now=None) -> int:
    """Remind each approver whose task is past its step's due time, and alert the admins,
    once per task (a `reminded_at` marker on the task; a transfer clears it). Returns how many
    tasks were reminded. Run every few minutes by Celery beat (see tasks.py)."""
    now = now or timezone.now()
    due = (
        Task.objects.filter(
            flow_task=ApprovalFlow.approve,
            status=STATUS.ASSIGNED,
            scheduled__lte=now,
            data__reminded_at__isnull=True,
        )
        .values_list("pk", "process__artifact_object_id")
        .order_by("scheduled", "pk")
    )
    reminded = 0
    for task_pk, request_pk in list(due[:1000]):
        with transaction.atomic():
            request = _lock(request_pk)
            task = Task.objects.select_related("owner").get(pk=task_pk)
            if (
                task.status != STATUS.ASSIGNED
                or task.data.get("reminded_at")
                or request.status != ApprovalRequest.Status.PENDING
            ):
                continue
            task.data["reminded_at"] = now.isoformat()
            task.save(update_fields=["data"])
            index = task.data.get("step")
            step = engine.step_of(request, index)
            engine.record(
                request,
                ApprovalAction.Kind.REMIND,
                step_index=index,
                target=task.owner,
                task_id=task.pk,
            )
            engine._send(
                [task.owner],
                "approval.overdue",
                request,
                _("Reminder: “%(title)s” by %(initiator)s waits for your approval since %(since)s.")
                % {
                    "title": request.title,
                    "initiator": request.initiator,
                    "since": timezone.localtime(task.created).strftime("%Y-%m-%d %H:%M"),
                },
            )
            engine._send(
                engine.admins(),
                "approval.overdue_admin",
                request,
                _("Step “%(step)s” of “%(title)s” is overdue at %(user)s.")
                % {"step": step.get("name", ""), "title": request.title, "user": task.owner},
            )
            reminded += 1
    return reminded
