"""Reads of the customers app, scoped to the user and shaped for a fixed number of queries.

Every function starts from `Model.objects.visible_to(user)`: a record outside the user's scope
is never returned (the page or API turns "not found" into a 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from apps.org.fields import field_access

from .filters import CustomerFilter, PoolFilter, TicketFilter
from .models import Contact, Customer, CustomerEvent, FollowUp, Tag, Ticket
from .panels import Panel, TimelineItem, panels_for, timeline_sources
from .search import global_search  # noqa: F401 - re-exported: selectors.global_search(user, q)

User = get_user_model()

# Sort keys a list page may offer (API: `?ordering=`); "-" for descending.
CUSTOMER_ORDERINGS = (
    "name",
    "level",
    "status",
    "province",
    "created_at",
    "updated_at",
    "last_contacted_at",
    "next_follow_up_at",
    "pool_entered_at",
)


def _filtered(filterset_class, data, qs, user):
    fs = filterset_class(data or {}, queryset=qs, user=user)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def _ordered(qs, ordering: str | None, user, default: list[str]):
    if not ordering:
        return qs.order_by(*default)
    access = field_access(user, Customer)
    keys = []
    for part in ordering.split(","):
        part = part.strip()
        name = part.lstrip("-")
        if name in CUSTOMER_ORDERINGS and access.can_view(name):
            keys.append(part)
    return qs.order_by(*keys, "-id") if keys else qs.order_by(*default)


def customer_list_base(user) -> QuerySet[Customer]:
    """Visible customers with what a list row shows (owner, department, territory, tags)."""
    return (
        Customer.objects.visible_to(user)
        .select_related("owner", "department", "territory")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )


def customer_list(
    *, user, filters: Mapping | None = None, ordering: str | None = None
) -> QuerySet[Customer]:
    """Customers the user may see, filtered (see `apps.customers.filters.CustomerFilter`) and
    sorted (`ordering="-last_contacted_at"`; keys in CUSTOMER_ORDERINGS). Pool customers are
    included unless `filters["in_pool"] = "false"`."""
    qs = _filtered(CustomerFilter, filters, customer_list_base(user), user)
    return _ordered(qs, ordering, user, ["-updated_at", "-id"])


def pool_list(
    *, user, filters: Mapping | None = None, ordering: str | None = None
) -> QuerySet[Customer]:
    """The public pool as the user sees it, newest arrivals first."""
    qs = (
        Customer.objects.visible_to(user)
        .in_pool()
        .select_related("previous_owner", "department", "territory")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )
    qs = _filtered(PoolFilter, filters, qs, user)
    return _ordered(qs, ordering, user, ["-pool_entered_at", "-id"])


def customer_get(*, user, pk, action: str = "view") -> Customer:
    """One customer the user may see (or change); Http404 otherwise."""
    try:
        return (
            Customer.objects.visible_to(user, action)
            .select_related("owner", "department", "territory", "created_by", "previous_owner")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
            .get(pk=pk)
        )
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def ticket_list(*, user, filters: Mapping | None = None) -> QuerySet[Ticket]:
    qs = Ticket.objects.visible_to(user).select_related("customer", "assignee", "department")
    return _filtered(TicketFilter, filters, qs, user).order_by("-created_at", "-id")


def customers_to_follow_up(*, user, until: dt.datetime | None = None) -> QuerySet[Customer]:
    """The user's customers whose next follow-up date has come, soonest first (to-do inbox)."""
    from django.utils import timezone

    return (
        Customer.objects.owned_by(user)
        .follow_up_due(until or timezone.now())
        .order_by("next_follow_up_at", "id")
    )


# --- the 360° page ----------------------------------------------------------------------------


@dataclass
class Customer360:
    customer: Customer
    contacts: list[Contact]
    follow_ups: list[FollowUp]
    tickets: list[Ticket]
    events: list[CustomerEvent]
    panels: list[Panel] = field(default_factory=list)
    can_change: bool = False
    open_tickets: int = 0

    @property
    def primary_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.is_primary), None)


def customer_360(
    *,
    user,
    customer: Customer,
    follow_up_limit: int = 20,
    ticket_limit: int = 10,
    event_limit: int = 30,
    with_panels: bool = True,
) -> Customer360:
    """Everything the 360° page shows of one (visible) customer, in a fixed number of queries:
    contacts (with reporting lines), latest follow-ups, tickets, history, and the panels other
    apps registered (`apps.customers.panels`). Sections the user may not view are empty."""
    contacts: list[Contact] = []
    follow_ups: list[FollowUp] = []
    tickets: list[Ticket] = []
    if user.has_perm("customers.view_contact"):
        contacts = list(
            Contact.objects.visible_to(user)
            .filter(customer=customer)
            .select_related("reports_to")
            .order_by("-is_primary", "name", "id")
        )
    if user.has_perm("customers.view_followup"):
        follow_ups = list(
            FollowUp.objects.visible_to(user)
            .filter(customer=customer)
            .select_related("owner", "contact")
            .order_by("-occurred_at", "-id")[:follow_up_limit]
        )
    tickets = list(
        Ticket.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("assignee")
        .order_by("-created_at", "-id")[:ticket_limit]
    )
    events = list(
        CustomerEvent.objects.filter(customer=customer)
        .select_related("actor")
        .order_by("-at", "-id")[:event_limit]
    )
    open_tickets = sum(1 for t in tickets if t.is_open)
    return Customer360(
        customer=customer,
        contacts=contacts,
        follow_ups=follow_ups,
        tickets=tickets,
        events=events,
        panels=panels_for(user, customer) if with_panels else [],
        can_change=user.has_perm("customers.change_customer", customer),
        open_tickets=open_tickets,
    )


# --- the timeline feed ------------------------------------------------------------------------


def _event_text(event: CustomerEvent, users: dict[int, User]) -> str:
    p = event.payload or {}
    K = CustomerEvent.Kind

    def name(pk):
        user = users.get(pk) if pk else None
        return str(user) if user else ""

    if event.kind in (K.RELEASED,):
        return p.get("reason", "")
    if event.kind in (K.CLAIMED, K.ASSIGNED):
        return name(p.get("owner"))
    if event.kind == K.RECYCLED:
        return _("No follow-up for %(days)s days") % {"days": p.get("days", "?")}
    if event.kind == K.TAGGED:
        parts = [f"+{t}" for t in p.get("added", [])] + [f"−{t}" for t in p.get("removed", [])]
        return " ".join(parts)
    if event.kind == K.UPDATED:
        labels = []
        for f in (p.get("changes") or {}).keys():
            try:
                labels.append(str(Customer._meta.get_field(f).verbose_name))
            except Exception:  # noqa: BLE001 - a field removed since: show its name
                labels.append(f)
        return ", ".join(labels)
    if event.kind == K.MERGED:
        return (p.get("duplicate") or {}).get("name", "")
    if event.kind in (K.CONTACT_ADDED, K.CONTACT_UPDATED, K.CONTACT_REMOVED):
        return p.get("name", "")
    if event.kind in (K.TICKET_OPENED,):
        return p.get("title", "")
    if event.kind == K.TICKET_RATED:
        return "★" * int(p.get("satisfaction") or 0)
    if event.kind == K.CREATED:
        return p.get("name", "")
    return ""


def customer_timeline(
    *, user, customer: Customer, limit: int = 50, before: dt.datetime | None = None
) -> list[TimelineItem]:
    """The 360° feed, newest first: follow-ups (with their content), history events (except
    the "follow-up logged" rows the follow-ups already show) and items of registered sources.
    Page backwards with `before` = the last item's `at`."""
    items: list[TimelineItem] = []
    if user.has_perm("customers.view_followup"):
        fus = (
            FollowUp.objects.visible_to(user)
            .filter(customer=customer)
            .select_related("owner", "contact")
            .order_by("-occurred_at", "-id")
        )
        if before:
            fus = fus.filter(occurred_at__lt=before)
        # Field security: hidden fields are left out of the item; a follow-up whose date is
        # hidden is left out of the feed (its place in it would tell the date).
        see = field_access(user, FollowUp).can_view
        for f in fus[:limit] if see("occurred_at") else []:
            body = f.content if see("content") else ""
            if f.next_step and see("next_step"):
                body = f"{body}\n→ {f.next_step}" if body else f"→ {f.next_step}"
            title = f.get_kind_display() if see("kind") else str(_("Follow-up"))
            if f.contact and see("contact"):
                title += f" · {f.contact.name}"
            next_at = f.next_follow_up_at if see("next_follow_up_at") else None
            items.append(
                TimelineItem(
                    at=f.occurred_at,
                    kind=f"follow_up.{f.kind}" if see("kind") else "follow_up",
                    title=title,
                    body=body,
                    actor=f.owner if see("owner") else None,
                    source="follow_up",
                    object_id=f.pk,
                    payload={
                        "next_follow_up_at": next_at.isoformat() if next_at else None,
                        "contact": f.contact_id if see("contact") else None,
                    },
                )
            )
    events = (
        CustomerEvent.objects.filter(customer=customer)
        .exclude(kind=CustomerEvent.Kind.FOLLOWED_UP)
        .select_related("actor")
        .order_by("-at", "-id")
    )
    if before:
        events = events.filter(at__lt=before)
    events = list(events[:limit])
    user_ids = {
        (e.payload or {}).get("owner")
        for e in events
        if e.kind in (CustomerEvent.Kind.CLAIMED, CustomerEvent.Kind.ASSIGNED)
    } - {None}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    for e in events:
        items.append(
            TimelineItem(
                at=e.at,
                kind=f"event.{e.kind}",
                title=e.get_kind_display(),
                body=_event_text(e, users),
                actor=e.actor,
                source="event",
                object_id=e.pk,
                payload=e.payload or {},
            )
        )
    for source in timeline_sources():
        items.extend(source(user, customer, limit, before))
    items.sort(key=lambda i: (i.at, i.object_id or 0), reverse=True)
    return items[:limit]
