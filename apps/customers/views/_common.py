"""Helpers the customers pages share: record look-ups through the user's scope, flash messages
for service errors, list preferences and htmx detection."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.utils.http import url_has_allowed_host_and_scheme

from apps.org.errors import ConflictError, ServiceError
from apps.studio.list_columns import clear_preference, get_preference, set_preference  # noqa: F401

from ..models import Contact, Customer, FollowUp, Ticket

PAGE_SIZE = 25


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page_of(request, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def visible_customer(request, pk: int, *, related=("owner", "department", "territory")):
    """The customer if the user may see it; 404 otherwise (outside scope is not found)."""
    obj = Customer.objects.visible_to(request.user).select_related(*related).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def visible_contact(request, pk: int) -> Contact:
    obj = Contact.objects.visible_to(request.user).select_related("customer").filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def visible_follow_up(request, pk: int) -> FollowUp:
    obj = (
        FollowUp.objects.visible_to(request.user)
        .select_related("customer", "contact", "owner")
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def visible_ticket(request, pk: int) -> Ticket:
    obj = (
        Ticket.objects.visible_to(request.user)
        .select_related("customer", "assignee", "created_by", "department")
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def require_perm(request, perm: str, obj=None) -> None:
    allowed = request.user.has_perm(perm, obj) if obj is not None else request.user.has_perm(perm)
    if not allowed:
        raise PermissionDenied


def flash_service_error(request, exc: ServiceError) -> None:
    if isinstance(exc, ConflictError):
        messages.warning(request, exc.message)
    else:
        messages.error(request, exc.message)


def safe_next(request, default: str) -> str:
    """The `next` field of a POST if it is a path on this site, else `default`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
