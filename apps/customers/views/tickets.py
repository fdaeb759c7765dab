"""Service ticket pages: list with filters, create (from the list or a customer), detail with
the status flow (assign, start, resolve, close, reopen, rate)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.org.errors import ServiceError
from apps.org.fields import field_access

from .. import selectors, ticket_articles
from ..forms import (
    TicketAssignForm,
    TicketForm,
    TicketRateForm,
    TicketReopenForm,
    TicketResolveForm,
    add_service_errors,
)
from ..models import Customer, Ticket
from ..search import customer_search_q
from ..services import tickets as ticket_services
from ._common import flash_service_error, is_htmx, page_of, visible_customer, visible_ticket
from .customers import _MultiDict, filter_errors

User = get_user_model()
S = Ticket.Status


@login_required
@permission_required("customers.view_ticket", raise_exception=True)
def ticket_list(request):
    filters = {k: v for k, v in request.GET.items() if k not in ("page", "q") and v != ""}
    for key in ("status", "priority"):
        if request.GET.getlist(key):
            filters[key] = [v for v in request.GET.getlist(key) if v]
    errors = {}
    try:
        qs = selectors.ticket_list(user=request.user, filters=_MultiDict(filters))
    except ValidationError as exc:
        qs, errors = Ticket.objects.none(), filter_errors(exc)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(customer__name__icontains=q))
    context = {
        "page": page_of(request, qs),
        "filter_errors": errors,
        "f": request.GET,
        "statuses": S.choices,
        "priorities": Ticket.Priority.choices,
        "users": User.objects.filter(is_active=True).order_by("username"),
        "now": timezone.now(),
    }
    template = "customers/_ticket_results.html" if is_htmx(request) else "customers/tickets.html"
    return render(request, template, context)


@login_required
@permission_required("customers.add_ticket", raise_exception=True)
def ticket_create(request, pk: int | None = None):
    customers = Customer.objects.visible_to(request.user)
    customer = visible_customer(request, pk) if pk else None
    if customer is None and request.GET.get("customer", "").isdigit():
        customer = customers.filter(pk=int(request.GET["customer"])).first()
    initial = {"customer": customer.pk} if customer else {}
    form = TicketForm(request.POST or None, user=request.user, customers=customers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = ticket_services.ticket_create(
                customer=form.cleaned_data["customer"],
                by=request.user,
                data=form.service_data(),
                assignee=form.cleaned_data.get("assignee"),
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not open tickets for this customer."))
        else:
            messages.success(request, _("Ticket opened."))
            return redirect(ticket)
    chosen = customer
    if form.is_bound and form.data.get("customer", "").isdigit():
        chosen = customers.filter(pk=int(form.data["customer"])).first()
    return render(
        request,
        "customers/ticket_form.html",
        {"form": form, "customer": chosen, "article": form.chosen_article(request.user)},
    )


@login_required
def customer_picker(request):
    """htmx: visible customers matching the typed text, as radio buttons for a form."""
    if not request.user.has_perm("customers.view_customer"):
        raise PermissionDenied
    q = (request.GET.get("q") or request.GET.get("customer_q") or "").strip()
    rows = []
    if q:
        rows = list(
            Customer.objects.visible_to(request.user)
            .filter(customer_search_q(q))
            .only("pk", "name", "province", "city")[:10]
        )
    return render(request, "customers/_customer_picker.html", {"rows": rows, "q": q})


@login_required
def article_picker(request):
    """htmx: knowledge-base articles the user may see matching the typed text, as radio
    buttons for the ticket form (the library registers the search: ticket_articles)."""
    if not request.user.has_perm("customers.view_ticket"):
        raise PermissionDenied
    q = (request.GET.get("article_q") or "").strip()
    rows = ticket_articles.search(request.user, q) if q else []
    return render(request, "customers/_article_picker.html", {"rows": rows, "q": q})


@login_required
def ticket_detail(request, pk: int):
    ticket = visible_ticket(request, pk)
    user = request.user
    can_change = user.has_perm("customers.change_ticket", ticket)
    works = can_change or ticket.assignee_id == user.pk
    # A quick action that writes a field the user may not change is not offered.
    access = field_access(user, Ticket, ticket)
    context = {
        "obj": ticket,
        "article": (
            ticket_articles.visible_article(user, ticket.kb_article_id)
            if field_access(user, Ticket, ticket).can_view("kb_article_id")
            else None
        ),
        "events": list(ticket.events.select_related("actor").order_by("-at", "-id")[:50]),
        "now": timezone.now(),
        "can_assign": can_change
        and access.can_change("assignee")
        and ticket.status in (S.NEW, S.ASSIGNED, S.IN_PROGRESS),
        "can_start": works and ticket.status == S.ASSIGNED,
        "can_resolve": works
        and access.can_change("resolution")
        and ticket.status in (S.ASSIGNED, S.IN_PROGRESS),
        "can_close": can_change and ticket.status == S.RESOLVED,
        "can_reopen": can_change and ticket.status in (S.RESOLVED, S.CLOSED),
        "can_rate": can_change
        and access.can_change("satisfaction")
        and ticket.status in (S.RESOLVED, S.CLOSED),
        "assign_form": TicketAssignForm(initial={"assignee": ticket.assignee_id}),
        "resolve_form": TicketResolveForm(),
        "reopen_form": TicketReopenForm(),
        "rate_form": TicketRateForm(
            initial={
                "satisfaction": ticket.satisfaction,
                "comment": ticket.satisfaction_comment,
            }
        ),
    }
    return render(request, "customers/ticket_detail.html", context)


@login_required
@require_POST
def ticket_action(request, pk: int, action: str):
    ticket = visible_ticket(request, pk)
    by = request.user
    try:
        if action == "assign":
            form = TicketAssignForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Choose an active colleague."), field="assignee")
            ticket_services.ticket_assign(
                ticket=ticket, assignee=form.cleaned_data["assignee"], by=by
            )
            done = _("Ticket assigned to %(user)s.") % {"user": form.cleaned_data["assignee"]}
        elif action == "start":
            ticket_services.ticket_start(ticket=ticket, by=by)
            done = _("Work started.")
        elif action == "resolve":
            form = TicketResolveForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Describe how the ticket was resolved."), field="resolution")
            ticket_services.ticket_resolve(
                ticket=ticket, by=by, resolution=form.cleaned_data["resolution"]
            )
            done = _("Ticket resolved.")
        elif action == "close":
            ticket_services.ticket_close(ticket=ticket, by=by)
            done = _("Ticket closed.")
        elif action == "reopen":
            form = TicketReopenForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            ticket_services.ticket_reopen(ticket=ticket, by=by, reason=reason)
            done = _("Ticket reopened.")
        elif action == "rate":
            form = TicketRateForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Rate from 1 to 5."), field="satisfaction")
            ticket_services.ticket_rate(
                ticket=ticket,
                by=by,
                satisfaction=form.cleaned_data["satisfaction"],
                comment=form.cleaned_data["comment"],
            )
            done = _("Satisfaction recorded.")
        else:
            raise Http404
    except ServiceError as exc:
        flash_service_error(request, exc)
    else:
        messages.success(request, done)
    return redirect(ticket)


@login_required
def ticket_edit(request, pk: int):
    ticket = visible_ticket(request, pk)
    if not request.user.has_perm("customers.change_ticket", ticket):
        raise PermissionDenied
    form = TicketForm(request.POST or None, instance=ticket, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_services.ticket_update(ticket=ticket, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket saved."))
            return redirect(ticket)
    return render(
        request,
        "customers/ticket_form.html",
        {
            "form": form,
            "customer": ticket.customer,
            "obj": ticket,
            "article": form.chosen_article(request.user),
        },
    )
