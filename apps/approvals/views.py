"""Approval pages: start a request, my requests, the inbox, copied-to-me, one request.

Thin: bind the form, one service or selector call, render or redirect. A request the user may
not see is a 404; an action the user may not take is a 403 (or a message for a conflict).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.org.errors import ConflictError, ServiceError
from apps.org.fields import field_access
from apps.studio.layout import detail_sections

from . import selectors, services
from .data import KINDS_WITH_LINES, display_lines, display_rows
from .flows import ApprovalFlow
from .forms import (
    DecisionForm,
    RequestForm,
    TransferForm,
    apply_service_errors,
    line_formset,
)
from .models import ApprovalAttachment, ApprovalRequest, ApprovalTemplate, Kind

PAGE_SIZE = 20
User = get_user_model()


def _shows_amount(user, obj=None) -> bool:
    # Field security (DESIGN §4.1): an admin may restrict the amount like any other field.
    return field_access(user, ApprovalRequest, obj).can_view("amount")


def _page(request, qs, size=PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


@login_required
def my_requests(request):
    status = request.GET.get("status") or ""
    qs = selectors.my_requests(user=request.user, status=status or None)
    return render(
        request,
        "approvals/list.html",
        {
            "page": _page(request, qs),
            "status": status,
            "statuses": ApprovalRequest.Status.choices,
            "mode": "mine",
            "show_amount": _shows_amount(request.user),
        },
    )


@login_required
def cc_list(request):
    qs = selectors.cc_requests(user=request.user)
    return render(
        request,
        "approvals/list.html",
        {"page": _page(request, qs), "mode": "cc", "show_amount": _shows_amount(request.user)},
    )


@login_required
def inbox(request):
    page = _page(request, selectors.pending_tasks_for(request.user))
    rows = [
        {"task": t, "request": selectors.task_request(t), "step": selectors.step_name(t)}
        for t in page.object_list
    ]
    return render(
        request,
        "approvals/inbox.html",
        {
            "page": page,
            "rows": rows,
            "now": timezone.now(),
            "show_amount": _shows_amount(request.user),
        },
    )


@login_required
@permission_required("approvals.add_approvalrequest", raise_exception=True)
def choose_template(request):
    templates = selectors.startable_templates(request.user)
    return render(request, "approvals/choose.html", {"templates": templates})


def _lines_initial(data) -> list[dict]:
    return [dict(line) for line in (data or {}).get("lines", [])]


def _files(request, formset) -> list:
    files = list(request.FILES.getlist("attachments"))
    if formset is not None:
        for index, form in enumerate(formset.used_forms()):
            receipt = form.cleaned_data.get("receipt") if hasattr(form, "cleaned_data") else None
            if receipt:
                files.append((receipt, index))
    return files


def _request_form(request, *, kind, extra_specs, instance=None, initial_data=None):
    """(form, formset or None, wants more lines) for GET or POST."""
    post = request.method == "POST"
    form = RequestForm(
        request.POST if post else None,
        instance=instance,
        kind=kind,
        extra_specs=extra_specs,
        user=request.user,
        initial_data=initial_data,
    )
    formset, more = None, False
    if kind in KINDS_WITH_LINES:
        initial = _lines_initial(initial_data) if not post else None
        extra = 0 if initial else 1
        if post:
            more = "add_line" in request.POST
            data = request.POST.copy()
            if more:  # no JavaScript needed: one more empty line, what was typed kept
                data["lines-TOTAL_FORMS"] = str(int(data.get("lines-TOTAL_FORMS") or 0) + 1)
            formset = line_formset(kind, data=data, files=request.FILES)
        else:
            formset = line_formset(kind, initial=initial, extra=extra)
    return form, formset, more


@login_required
@permission_required("approvals.add_approvalrequest", raise_exception=True)
def start(request, code: str):
    template = get_object_or_404(
        ApprovalTemplate.objects.prefetch_related("start_roles", "start_departments"),
        code=code,
        active=True,
    )
    if not services.may_start(template, request.user):
        raise PermissionDenied
    form, formset, more = _request_form(
        request, kind=template.kind, extra_specs=template.extra_fields
    )
    if request.method == "POST" and not more:
        valid = form.is_valid() & (formset is None or formset.is_valid())
        if valid:
            data = form.data_payload()
            if formset is not None:
                data["lines"] = [f.payload() for f in formset.used_forms()]
            try:
                obj = services.approval_start(
                    template=template,
                    by=request.user,
                    title=form.cleaned_data["title"],
                    amount=form.cleaned_data.get("amount"),
                    data=data,
                    custom=form.cleaned_data.get("custom"),
                    attachments=_files(request, formset),
                )
            except ServiceError as exc:
                apply_service_errors(exc.errors, form, formset)
            else:
                messages.success(request, _("Your request was submitted."))
                return redirect(obj)
    return render(
        request,
        "approvals/form.html",
        {
            "template": template,
            "form": form,
            "formset": formset,
            "mode": "start",
        },
    )


@login_required
def resubmit(request, pk: int):
    obj = _visible(request, pk)
    if obj.initiator_id != request.user.pk:
        raise PermissionDenied
    if obj.status not in (ApprovalRequest.Status.RETURNED, ApprovalRequest.Status.WITHDRAWN):
        messages.warning(request, _("Only a returned or withdrawn request can be resubmitted."))
        return redirect(obj)
    extra_specs = (obj.chain or {}).get("extra_fields")
    form, formset, more = _request_form(
        request, kind=obj.kind, extra_specs=extra_specs, instance=obj, initial_data=obj.data
    )
    decision = DecisionForm(request.POST or None)
    if request.method == "POST" and not more:
        valid = form.is_valid() & decision.is_valid() & (formset is None or formset.is_valid())
        if valid:
            data = form.data_payload()
            if formset is not None:
                data["lines"] = [f.payload() for f in formset.used_forms()]
            try:
                services.approval_resubmit(
                    request=obj,
                    by=request.user,
                    title=form.cleaned_data["title"],
                    amount=form.cleaned_data.get("amount"),
                    data=data,
                    custom=form.cleaned_data.get("custom"),
                    attachments=_files(request, formset),
                    comment=decision.cleaned_data["comment"],
                )
            except ServiceError as exc:
                apply_service_errors(exc.errors, form, formset)
            else:
                messages.success(request, _("Your request was submitted again."))
                return redirect(obj)
    return render(
        request,
        "approvals/form.html",
        {
            "template": obj.template,
            "form": form,
            "formset": formset,
            "decision": decision,
            "mode": "resubmit",
            "request_obj": obj,
        },
    )


def _visible(request, pk: int) -> ApprovalRequest:
    try:
        return selectors.request_detail(user=request.user, pk=pk)
    except ApprovalRequest.DoesNotExist:
        raise Http404 from None


@login_required
def detail(request, pk: int):
    obj = _visible(request, pk)
    tasks = selectors.current_tasks(obj)
    my_task = next(
        (t for t in tasks if t.owner_id == request.user.pk and t.status == STATUS.ASSIGNED), None
    )
    step = obj.steps[obj.current_step] if obj.current_step is not None else {}
    header, lines = display_lines(obj.kind, obj.data)
    attachments = list(obj.attachments.all())
    receipts = {a.line: a for a in attachments if a.line is not None}
    line_rows = [{"cells": cells, "receipt": receipts.get(i)} for i, cells in enumerate(lines)]
    subject = obj.subject if obj.subject_type_id else None
    context = {
        "obj": obj,
        "data_rows": display_rows(obj.kind, (obj.chain or {}).get("extra_fields"), obj.data),
        "line_header": header,
        "line_rows": line_rows,
        "attachments": [a for a in attachments if a.line is None],
        "custom_sections": detail_sections(request.user, obj, builtin=[]),
        "timeline": list(obj.actions.all()),
        "chain": selectors.chain_view(obj, tasks),
        "my_task": my_task,
        "can_return": bool(my_task) and step.get("allow_return", True),
        "decision_form": DecisionForm(),
        "transfer_form": TransferForm(
            prefix="transfer", exclude=[t.owner_id for t in tasks if t.status == STATUS.ASSIGNED]
        )
        if my_task
        else None,
        "can_withdraw": obj.initiator_id == request.user.pk and obj.is_pending,
        "can_resubmit": obj.initiator_id == request.user.pk
        and obj.status in (ApprovalRequest.Status.RETURNED, ApprovalRequest.Status.WITHDRAWN),
        "subject": subject,
        "subject_url": getattr(subject, "get_absolute_url", None) if subject else None,
        "show_amount": obj.kind != Kind.LEAVE and _shows_amount(request.user, obj),
        "show_data": field_access(request.user, ApprovalRequest, obj).can_view("data"),
    }
    return render(request, "approvals/detail.html", context)


ACTIONS = {
    "approve": (services.approval_task_approve, _("You approved the request.")),
    "reject": (services.approval_task_reject, _("You rejected the request.")),
    "return": (services.approval_task_return, _("You returned the request to the initiator.")),
}


@login_required
@require_POST
def task_action(request, pk: int, task_pk: int):
    obj = _visible(request, pk)
    task = Task.objects.filter(
        pk=task_pk, flow_task=ApprovalFlow.approve, process__artifact_object_id=obj.pk
    ).first()
    if task is None:
        raise Http404
    verb = request.POST.get("action", "")
    try:
        if verb in ACTIONS:
            form = DecisionForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("The comment is too long."))
            service, done = ACTIONS[verb]
            service(task=task, by=request.user, comment=form.cleaned_data["comment"])
            messages.success(request, done)
        elif verb == "transfer":
            form = TransferForm(request.POST, prefix="transfer")
            if not form.is_valid():
                raise ServiceError(_("Choose an active colleague."))
            services.approval_task_transfer(
                task=task,
                by=request.user,
                to=form.cleaned_data["to"],
                comment=form.cleaned_data["comment"],
            )
            messages.success(
                request,
                _("The task was transferred to %(user)s.") % {"user": form.cleaned_data["to"]},
            )
        elif verb == "comment":
            services.approval_task_comment(
                task=task, by=request.user, comment=request.POST.get("comment", "")
            )
            messages.success(request, _("Your comment was added."))
        else:
            raise ServiceError(_("Unknown action."))
    except ConflictError as exc:
        messages.warning(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(obj)


@login_required
@require_POST
def withdraw(request, pk: int):
    obj = _visible(request, pk)
    try:
        services.approval_withdraw(
            request=obj, by=request.user, comment=request.POST.get("comment", "")
        )
    except ConflictError as exc:
        messages.warning(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect(obj)


@login_required
@require_POST
def comment(request, pk: int):
    obj = _visible(request, pk)
    try:
        services.approval_comment(
            request=obj, by=request.user, comment=request.POST.get("comment", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your comment was added."))
    return redirect(obj)


@login_required
def attachment(request, pk: int):
    att = get_object_or_404(ApprovalAttachment.objects.select_related("request"), pk=pk)
    _visible(request, att.request_id)
    # Always a download: an uploaded HTML file must never render on our origin.
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name)
