"""Task pages (list with views and filters, kanban board, create, detail with the subtask tree
and comments, edit) and the one to-do inbox. Thin: forms validate shape, services decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.customers.models import Customer
from apps.org.errors import ConflictError, ServiceError
from apps.org.fields import field_access

from . import inbox, selectors, services
from .filters import DUE_CHOICES
from .forms import CommentForm, StatusForm, SubtaskForm, TaskForm, add_service_errors
from .models import Task, TaskAttachment

PAGE_SIZE = 25
VIEW_LABELS = [
    ("mine", _("Assigned to me")),
    ("created", _("Created by me")),
    ("participating", _("Participating")),
    ("team", _("Team")),
    ("all", _("All visible")),
]


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _task(request, pk: int) -> Task:
    try:
        return selectors.visible_task(user=request.user, pk=pk)
    except Task.DoesNotExist:
        raise Http404 from None


def _next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _flash(request, exc: ServiceError) -> None:
    if isinstance(exc, ConflictError):
        messages.warning(request, exc.message)
    else:
        for field_messages in exc.errors.values():
            for message in field_messages:
                messages.error(request, message)


def _filters(request) -> dict:
    keep = ("status", "priority", "assignee", "customer", "due", "q", "top")
    out: dict = {}
    for key in keep:
        values = [v for v in request.GET.getlist(key) if v != ""]
        if values:
            out[key] = values if key in ("status", "priority") else values[0]
    return out


class _MultiDict(dict):
    def getlist(self, key, default=None):
        value = self.get(key, default)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def _list_context(request, *, board: bool = False) -> dict:
    user = request.user
    view = request.GET.get("view") or "mine"
    if view not in selectors.VIEWS:
        view = "mine"
    filters = _filters(request)
    if not board and "status" not in filters and request.GET.get("open", "1") == "1":
        filters["status"] = list(Task.OPEN)  # open tasks unless asked otherwise
    errors: dict = {}
    context = {
        "view": view,
        "views": [
            (k, label) for k, label in VIEW_LABELS if k != "team" or selectors.has_team_view(user)
        ],
        "f": request.GET,
        "statuses": Task.Status.choices,
        "priorities": Task.Priority.choices,
        "due_choices": DUE_CHOICES,
        "now": timezone.now(),
        "sort": request.GET.get("sort", ""),
        "customer": None,
    }
    if str(filters.get("customer", "")).isdigit():
        context["customer"] = (
            Customer.objects.visible_to(user).filter(pk=int(filters["customer"])).first()
        )
    try:
        if board:
            filters.pop("status", None)
            cols = selectors.board(user=user, view=view, filters=_MultiDict(filters))
            context["columns"] = [(v, label, cols[v]) for v, label in Task.Status.choices]
        else:
            qs = selectors.task_list(user=user, view=view, filters=_MultiDict(filters))
            qs = selectors.order_for_list(qs, context["sort"])
            context["page"] = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    except ValidationError as exc:
        errors = (
            {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            if hasattr(exc, "error_dict")
            else {"detail": exc.messages}
        )
        if board:
            context["columns"] = [(v, label, []) for v, label in Task.Status.choices]
        else:
            context["page"] = Paginator(Task.objects.none(), PAGE_SIZE).get_page(1)
    context["filter_errors"] = errors
    context["open_only"] = filters.get("status") == list(Task.OPEN)
    return context


@login_required
def task_list(request):
    context = _list_context(request)
    template = "tasks/_results.html" if _is_htmx(request) else "tasks/list.html"
    return render(request, template, context)


@login_required
def board(request):
    context = _list_context(request, board=True)
    context["status_form"] = StatusForm()
    return render(request, "tasks/board.html", context)


def _customers(user):
    return (
        Customer.objects.visible_to(user)
        if user.has_perm("customers.view_customer")
        else (Customer.objects.none())
    )


@login_required
def task_create(request):
    user = request.user
    if not user.has_perm("tasks.add_task"):
        raise PermissionDenied
    parent = None
    parent_id = request.POST.get("parent") or request.GET.get("parent")
    if parent_id:
        if not str(parent_id).isdigit():
            raise Http404
        parent = _task(request, int(parent_id))
        if not services.may_change(user, parent):
            raise PermissionDenied
    customers = _customers(user)
    customer = None
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        customer = customers.filter(pk=int(customer_id)).first()
    elif parent is not None and parent.customer_id:
        customer = parent.customer
    initial = {"customer": customer.pk} if customer else {}
    quick = request.method == "POST" and request.POST.get("quick") == "1"
    if quick:
        form = SubtaskForm(request.POST)
    else:
        form = TaskForm(
            request.POST or None,
            user=user,
            customers=customers,
            initial=initial,
            subtask=parent is not None,
        )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("assignee"):
            data.pop("assignee", None)
        if "participants" in data:
            data["participants"] = list(data["participants"])
        if parent is not None and not data.get("customer"):
            data["customer"] = parent.customer
        try:
            task = services.task_create(by=user, data=data, parent=parent)
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not add this task."))
        else:
            messages.success(request, _("Subtask added.") if parent else _("Task created."))
            return redirect(parent if quick and parent is not None else task)
    if quick and parent is not None:
        # The quick form lives on the parent's page: show its errors there.
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(parent)
    chosen = customer
    if form.is_bound and str(form.data.get("customer", "")).isdigit():
        chosen = customers.filter(pk=int(form.data["customer"])).first()
    return render(
        request,
        "tasks/form.html",
        {"form": form, "parent": parent, "customer": chosen, "obj": None},
    )


@login_required
def task_detail(request, pk: int):
    task = _task(request, pk)
    user = request.user
    can_change = services.may_change(user, task)
    rows = selectors.subtree(task)
    # Quick actions that write a field the user may not change are not offered.
    access = field_access(user, Task, task)
    can_set_status = can_change and access.can_change("status")
    subtask_form = SubtaskForm()
    if not access.can_change("assignee"):
        subtask_form.fields.pop("assignee", None)
    context = {
        "obj": task,
        "ancestors": selectors.ancestors(task),
        "subtasks": rows,
        "open_subtasks": sum(1 for t in rows if t.is_open),
        "participants": selectors.participants(task),
        "comments": selectors.comments(task),
        "events": selectors.events(task),
        "can_change": can_change,
        "can_delete": user.has_perm("tasks.delete_task", task),
        "can_set_status": can_set_status,
        "can_add_subtask": can_change
        and user.has_perm("tasks.add_task")
        and access.can_change("parent"),
        "subtask_form": subtask_form,
        "comment_form": CommentForm(),
        "transitions": [
            (s, Task.Status(s).label)
            for s in Task.Status.values
            if can_set_status and s in services.TRANSITIONS[task.status]
        ],
        "link": task.link if task.link_type_id else None,
        "now": timezone.now(),
    }
    return render(request, "tasks/detail.html", context)


@login_required
def task_edit(request, pk: int):
    task = _task(request, pk)
    user = request.user
    if not services.may_change(user, task):
        raise PermissionDenied
    customers = _customers(user)
    initial = {
        "title": task.title,
        "description": task.description,
        "assignee": task.assignee_id,
        "participants": [u.pk for u in selectors.participants(task)],
        "priority": task.priority,
        "due_at": timezone.localtime(task.due_at) if task.due_at else None,
        "remind_at": timezone.localtime(task.remind_at) if task.remind_at else None,
        "repeat": task.repeat,
        "repeat_until": task.repeat_until,
        "customer": task.customer_id,
    }
    form = TaskForm(
        request.POST or None,
        user=user,
        customers=customers,
        initial=initial,
        subtask=task.parent_id is not None,
        task=task,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("assignee"):
            data.pop("assignee", None)
        data["participants"] = list(data.get("participants") or [])
        try:
            services.task_update(task=task, by=user, data=data)
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Task saved."))
            return redirect(task)
    chosen = task.customer
    if form.is_bound:
        raw = str(form.data.get("customer", ""))
        chosen = customers.filter(pk=int(raw)).first() if raw.isdigit() else None
    return render(
        request,
        "tasks/form.html",
        {"form": form, "parent": task.parent, "customer": chosen, "obj": task},
    )


@login_required
@require_POST
def task_status(request, pk: int):
    task = _task(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown status."))
        return redirect(_next(request, task.get_absolute_url()))
    try:
        task = services.task_set_status(
            task=task, status=form.cleaned_data["status"], by=request.user
        )
    except ServiceError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request,
            _("%(title)s: %(status)s.")
            % {"title": task.title, "status": task.get_status_display()},
        )
    return redirect(_next(request, task.get_absolute_url()))


@login_required
@require_POST
def task_delete(request, pk: int):
    task = _task(request, pk)
    parent = task.parent
    services.task_delete(task=task, by=request.user)
    messages.success(request, _("Task deleted."))
    return redirect(parent.get_absolute_url() if parent else reverse("tasks:list"))


@login_required
@require_POST
def comment_create(request, pk: int):
    task = _task(request, pk)
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.comment_add(
                task=task,
                by=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["files"],
            )
        except ServiceError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("Comment added."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(reverse("tasks:detail", args=[task.pk]) + "#comments")


@login_required
def attachment(request, pk: int):
    """A comment's file, only for who may see the task; always a download."""
    try:
        att = selectors.visible_attachment(user=request.user, pk=pk)
    except (TaskAttachment.DoesNotExist, Task.DoesNotExist):
        raise Http404 from None
    return file_response(att)


def file_response(att: TaskAttachment) -> FileResponse:
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=att.name, content_type=att.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response


# --- the to-do inbox ---------------------------------------------------------------------------


@login_required
def todos(request):
    """All kinds with their first items, or one kind (`?kind=`) page by page."""
    user = request.user
    kind = request.GET.get("kind", "")
    context = {"kind": kind, "now": timezone.now()}
    if kind:
        chosen = inbox.provider(user, kind)
        if chosen is None:
            raise Http404
        try:
            number = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            number = 1
        size = PAGE_SIZE
        count, _per_kind, rows = inbox.items(
            user, kind=kind, offset=(number - 1) * size, limit=size
        )
        context.update(
            provider=chosen,
            rows=rows,
            count=count,
            page_number=number,
            has_next=number * size < count,
            has_previous=number > 1,
            sections=[],
            counts=inbox.counts(user),
        )
    else:
        sections = inbox.sections(user, inbox.PREVIEW)
        context.update(
            sections=sections,
            counts=[(s.provider, s.count) for s in sections],
            total=sum(s.count for s in sections),
        )
    return render(request, "tasks/todos.html", context)
