"""Contacts (list, create and edit within a customer) and follow-ups (log from the 360° page,
edit)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.org.errors import ServiceError
from apps.org.fields import field_access

from ..forms import ContactForm, FollowUpForm, add_service_errors
from ..models import Contact
from ..search import contact_search_q
from ..services.contacts import contact_create, contact_update, follow_up_log, follow_up_update
from ._common import (
    is_htmx,
    page_of,
    require_perm,
    visible_contact,
    visible_customer,
    visible_follow_up,
)
from .customers import detail_context


@login_required
@permission_required("customers.view_contact", raise_exception=True)
def contact_list(request):
    q = request.GET.get("q", "").strip()
    access = field_access(request.user, Contact)
    qs = Contact.objects.visible_to(request.user).select_related("customer")
    if q:
        qs = qs.filter(contact_search_q(q, access))
    qs = qs.order_by("name", "id")
    return render(
        request,
        "customers/contacts.html",
        {
            "page": page_of(request, qs),
            "q": q,
            "show_mobile": access.can_view("mobile"),
            "show_title": access.can_view("title"),
            "show_email": access.can_view("email"),
        },
    )


@login_required
def contact_create_view(request, pk: int):
    customer = visible_customer(request, pk)
    require_perm(request, "customers.add_contact")
    require_perm(request, "customers.change_customer", customer)
    form = ContactForm(request.POST or None, customer=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            contact_create(customer=customer, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Contact added."))
            return redirect(customer)
    return render(
        request, "customers/contact_form.html", {"form": form, "customer": customer, "obj": None}
    )


@login_required
def contact_edit(request, pk: int):
    contact = visible_contact(request, pk)
    require_perm(request, "customers.change_contact", contact)
    customer = contact.customer
    form = ContactForm(request.POST or None, instance=contact, customer=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(contact=contact, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect(customer)
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "obj": contact},
    )


@login_required
@require_POST
def follow_up_create(request, pk: int):
    """Log a follow-up from the 360° page. htmx: answer the timeline card (fresh form, or the
    form with its errors); without JavaScript: redirect back to the page."""
    customer = visible_customer(request, pk)
    require_perm(request, "customers.add_followup")
    require_perm(request, "customers.change_customer", customer)
    form = FollowUpForm(request.POST, customer=customer, user=request.user)
    saved = False
    if form.is_valid():
        try:
            follow_up_log(customer=customer, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            saved = True
    if not is_htmx(request):
        if saved:
            messages.success(request, _("Follow-up logged."))
            return redirect(customer)
        context = detail_context(request, customer, follow_up_form=form)
        return render(request, "customers/detail.html", context, status=400)
    customer.refresh_from_db()
    context = detail_context(request, customer, follow_up_form=None if saved else form)
    context["just_logged"] = saved
    return render(request, "customers/_timeline.html", context)


@login_required
def follow_up_edit(request, pk: int):
    follow_up = visible_follow_up(request, pk)
    require_perm(request, "customers.change_followup", follow_up)
    customer = follow_up.customer
    form = FollowUpForm(
        request.POST or None, instance=follow_up, customer=customer, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            follow_up_update(follow_up=follow_up, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Follow-up saved."))
            return redirect(customer)
    return render(
        request,
        "customers/follow_up_form.html",
        {"form": form, "customer": customer, "obj": follow_up},
    )
