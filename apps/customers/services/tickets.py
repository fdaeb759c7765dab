"""Service tickets: SLA due times, the status flow, satisfaction written back to the customer.

new ─assign─► assigned ─start─► in_progress ─resolve─► resolved ─close─► closed
                 ▲  (assign again re-dispatches)        │  rate (1–5)     │
                 └──────────────── reopen ◄─────────────┴─────────────────┘
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ConflictError, ServiceError
from apps.org.history import record_history
from apps.studio.automation import record_changed
from apps.studio.validation import validate_custom_or_raise

from .. import ticket_articles
from ..models import DEFAULT_SLA_HOURS, Customer, CustomerEvent, SLARule, Ticket, TicketEvent
from ._common import apply, record, refuse_restricted, require

User = get_user_model()
S = Ticket.Status

TICKET_FIELDS = ("title", "description", "priority", "contract_id", "kb_article_id")
MAX_TEXT = 5000


def sla_hours(priority: str) -> tuple[int, int]:
    """(response hours, resolve hours) for a priority: the admin's rule, else the default."""
    rule = SLARule.objects.filter(priority=priority).first()
    if rule is not None:
        return rule.response_hours, rule.resolve_hours
    return DEFAULT_SLA_HOURS.get(priority, DEFAULT_SLA_HOURS[Ticket.Priority.NORMAL])


def sla_due(priority: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(respond by, resolve by) counted in calendar hours from `start`."""
    response, resolve = sla_hours(priority)
    return start + dt.timedelta(hours=response), start + dt.timedelta(hours=resolve)


def _event(ticket: Ticket, kind: str, by, **payload) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, kind=kind, actor=by, payload=payload)


def _check_article(ticket: Ticket, by) -> None:
    """A linked knowledge-base article must be one the user may see in the library."""
    if ticket.kb_article_id and ticket_articles.visible_article(by, ticket.kb_article_id) is None:
        raise ServiceError(
            _("Choose a knowledge-base article you can see in the library."), field="kb_article"
        )


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _expect(ticket: Ticket, *states: str, verb: str) -> None:
    if ticket.status not in states:
        raise ConflictError(
            _("A ticket that is %(status)s cannot be %(verb)s.")
            % {"status": ticket.get_status_display().lower(), "verb": verb}
        )


def _may_work(ticket: Ticket, by) -> None:
    """The assignee works their ticket; anyone else needs the change permission on it."""
    if by is None or ticket.assignee_id == by.pk:
        return
    require(by, "customers.change_ticket", ticket)


@transaction.atomic
def ticket_create(
    *, customer: Customer, by, data: Mapping, assignee=None, department=None
) -> Ticket:
    """Open a ticket for a customer; its SLA due times come from the priority's rule."""
    require(by, "customers.add_ticket")
    require(by, "customers.view_customer", customer)
    refuse_restricted(by, Ticket, [k for k in data if k in TICKET_FIELDS or k == "custom"])
    now = timezone.now()
    ticket = Ticket(customer=customer, created_by=by, created_at=now)
    apply(ticket, data, TICKET_FIELDS)
    if not (ticket.title or "").strip():
        raise ServiceError(_("Give the ticket a title."), field="title")
    _check_article(ticket, by)
    ticket.department = department or getattr(by, "department", None)
    ticket.response_due_at, ticket.sla_due_at = sla_due(ticket.priority, now)
    ticket.custom = validate_custom_or_raise(Ticket, data.get("custom"), instance=None)
    ticket.full_clean(exclude=["customer", "custom", "assignee"], validate_constraints=False)
    ticket.save()
    _event(ticket, TicketEvent.Kind.CREATED, by, priority=ticket.priority)
    record(customer, CustomerEvent.Kind.TICKET_OPENED, by, ticket=ticket.pk, title=ticket.title)
    record_changed(ticket, created=True, by=by)
    if assignee is not None:
        ticket = ticket_assign(ticket=ticket, assignee=assignee, by=by)
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, by, data: Mapping) -> Ticket:
    """Change title, description, priority (the SLA follows), links and custom fields."""
    require(by, "customers.change_ticket", ticket)
    if "customer" in data and data["customer"] not in (ticket.customer_id, ticket.customer):
        raise ServiceError(_("A ticket cannot move to another customer."), field="customer")
    ticket = _lock(ticket)
    refuse_restricted(by, Ticket, [k for k in data if k in TICKET_FIELDS or k == "custom"], ticket)
    changes = apply(ticket, data, TICKET_FIELDS)
    if "custom" in data:
        clean = validate_custom_or_raise(Ticket, data["custom"], instance=ticket, partial=True)
        if clean != ticket.custom:
            changes["custom"] = True
            ticket.custom = clean
    if not changes:
        return ticket
    if "kb_article_id" in changes:
        _check_article(ticket, by)
    if "priority" in changes:
        ticket.response_due_at, ticket.sla_due_at = sla_due(ticket.priority, ticket.created_at)
        ticket.is_overdue = bool(ticket.is_open and ticket.sla_due_at < timezone.now())
        if not ticket.is_overdue:
            ticket.overdue_notified_at = None
    ticket.full_clean(exclude=["customer", "custom", "assignee"], validate_constraints=False)
    ticket.save()
    _event(ticket, TicketEvent.Kind.UPDATED, by, changes=sorted(changes))
    record_changed(ticket, changes=changes, by=by)
    return ticket


@transaction.atomic
def ticket_delete(*, ticket: Ticket, by) -> None:
    """Delete a ticket opened by mistake; one somebody worked on is kept as history."""
    require(by, "customers.delete_ticket", ticket)
    ticket = _lock(ticket)
    if ticket.status not in (S.NEW, S.ASSIGNED) or ticket.started_at:
        raise ServiceError(_("A ticket somebody worked on is kept; close it instead."))
    ticket.delete()


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee, by) -> Ticket:
    """Dispatch (or re-dispatch) an open ticket to someone; they are notified."""
    require(by, "customers.change_ticket", ticket)
    if assignee is None or not getattr(assignee, "is_active", False):
        raise ServiceError(_("Choose an active colleague."), field="assignee")
    ticket = _lock(ticket)
    _expect(ticket, S.NEW, S.ASSIGNED, S.IN_PROGRESS, verb=_("assigned"))
    if ticket.assignee_id == assignee.pk and ticket.status != S.NEW:
        raise ConflictError(_("The ticket is already assigned to %(user)s.") % {"user": assignee})
    previous, old_status = ticket.assignee_id, ticket.status
    ticket.assignee = assignee
    if ticket.status == S.NEW:
        ticket.status = S.ASSIGNED
    ticket.save(update_fields=["assignee", "status", "updated_at"])
    _event(ticket, TicketEvent.Kind.ASSIGNED, by, assignee=assignee.pk, previous=previous)
    changes = {"assignee": [previous, assignee.pk]}
    if old_status != ticket.status:
        changes["status"] = [old_status, ticket.status]
    record_changed(ticket, changes=changes, by=by)
    if by is None or assignee.pk != by.pk:
        notify.send(
            assignee,
            "customers.ticket_assigned",
            ticket,
            actor=by,
            message=_("Ticket assigned to you: %(title)s (%(customer)s)")
            % {"title": ticket.title, "customer": ticket.customer.name},
        )
    return ticket


@transaction.atomic
def ticket_start(*, ticket: Ticket, by) -> Ticket:
    ticket = _lock(ticket)
    _may_work(ticket, by)
    _expect(ticket, S.ASSIGNED, verb=_("started"))
    ticket.status = S.IN_PROGRESS
    ticket.started_at = timezone.now()
    ticket.save(update_fields=["status", "started_at", "updated_at"])
    _event(ticket, TicketEvent.Kind.STARTED, by)
    record_changed(ticket, changes={"status": [S.ASSIGNED, S.IN_PROGRESS]}, by=by)
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, by, resolution: str) -> Ticket:
    resolution = (resolution or "").strip()
    if not resolution:
        raise ServiceError(_("Describe how the ticket was resolved."), field="resolution")
    if len(resolution) > MAX_TEXT:
        raise ServiceError(_("The text is too long."), field="resolution")
    ticket = _lock(ticket)
    _may_work(ticket, by)
    _expect(ticket, S.ASSIGNED, S.IN_PROGRESS, verb=_("resolved"))
    now = timezone.now()
    old_status = ticket.status
    ticket.status = S.RESOLVED
    ticket.resolution = resolution
    ticket.resolved_at = now
    ticket.started_at = ticket.started_at or now
    ticket.save(update_fields=["status", "resolution", "resolved_at", "started_at", "updated_at"])
    _event(
        ticket,
        TicketEvent.Kind.RESOLVED,
        by,
        late=bool(ticket.sla_due_at and now > ticket.sla_due_at),
    )
    record_changed(ticket, changes={"status": [old_status, S.RESOLVED]}, by=by)
    if ticket.created_by_id and (by is None or ticket.created_by_id != by.pk):
        notify.send(
            ticket.created_by,
            "customers.ticket_resolved",
            ticket,
            actor=by,
            message=_("Ticket resolved: %(title)s") % {"title": ticket.title},
        )
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, by) -> Ticket:
    require(by, "customers.change_ticket", ticket)
    ticket = _lock(ticket)
    _expect(ticket, S.RESOLVED, verb=_("closed"))
    ticket.status = S.CLOSED
    ticket.closed_at = timezone.now()
    ticket.save(update_fields=["status", "closed_at", "updated_at"])
    _event(ticket, TicketEvent.Kind.CLOSED, by)
    record_changed(ticket, changes={"status": [S.RESOLVED, S.CLOSED]}, by=by)
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, by, reason: str = "") -> Ticket:
    """Back to work: to its assignee if it has one (else new). The SLA clock restarts."""
    require(by, "customers.change_ticket", ticket)
    ticket = _lock(ticket)
    _expect(ticket, S.RESOLVED, S.CLOSED, verb=_("reopened"))
    now = timezone.now()
    old_status = ticket.status
    ticket.status = S.ASSIGNED if ticket.assignee_id else S.NEW
    ticket.reopen_count += 1
    ticket.resolved_at = ticket.closed_at = ticket.started_at = None
    ticket.response_due_at, ticket.sla_due_at = sla_due(ticket.priority, now)
    ticket.is_overdue = False
    ticket.overdue_notified_at = None
    ticket.save()
    _event(ticket, TicketEvent.Kind.REOPENED, by, reason=(reason or "")[:MAX_TEXT])
    record_changed(ticket, changes={"status": [old_status, ticket.status]}, by=by)
    if ticket.assignee_id and (by is None or ticket.assignee_id != by.pk):
        notify.send(
            ticket.assignee,
            "customers.ticket_reopened",
            ticket,
            actor=by,
            message=_("Ticket reopened: %(title)s") % {"title": ticket.title},
        )
    return ticket


@transaction.atomic
def ticket_rate(*, ticket: Ticket, by, satisfaction, comment: str = "") -> Ticket:
    """Record the customer's satisfaction (1–5 and a comment) with a resolved or closed
    ticket; the customer's satisfaction summary is recomputed from all its rated tickets."""
    require(by, "customers.change_ticket", ticket)
    try:
        score = int(satisfaction)
    except (TypeError, ValueError):
        score = 0
    if isinstance(satisfaction, bool) or not 1 <= score <= 5:
        raise ServiceError(_("Rate from 1 to 5."), field="satisfaction")
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ServiceError(_("The comment is too long (at most 500 characters)."), field="comment")
    ticket = _lock(ticket)
    _expect(ticket, S.RESOLVED, S.CLOSED, verb=_("rated"))
    now = timezone.now()
    ticket.satisfaction = score
    ticket.satisfaction_comment = comment
    ticket.rated_at = now
    ticket.save(update_fields=["satisfaction", "satisfaction_comment", "rated_at", "updated_at"])
    _event(ticket, TicketEvent.Kind.RATED, by, satisfaction=score, comment=comment)
    record_changed(ticket, changes={"satisfaction": [None, score]}, by=by)
    customer = Customer.objects.select_for_update().get(pk=ticket.customer_id)
    summary = Ticket.objects.filter(customer=customer, satisfaction__isnull=False).aggregate(
        avg=Avg("satisfaction"), n=Count("pk")
    )
    customer.satisfaction_avg = Decimal(str(summary["avg"])).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    customer.satisfaction_count = summary["n"]
    customer.last_satisfaction = score
    customer.last_satisfaction_comment = comment
    customer.save(
        update_fields=[
            "satisfaction_avg",
            "satisfaction_count",
            "last_satisfaction",
            "last_satisfaction_comment",
        ]
    )
    record(customer, CustomerEvent.Kind.TICKET_RATED, by, ticket=ticket.pk, satisfaction=score)
    return ticket


def ticket_flag_overdue(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Flag open tickets past their SLA and notify the assignee (or, unassigned, whoever opened
    it) once per SLA period (a reopen restarts it). Idempotent."""
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            rows = list(
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .open()
                .filter(sla_due_at__lt=now, is_overdue=False)
                .select_related("assignee", "created_by", "customer")
                .order_by("sla_due_at", "pk")[:batch]
            )
            if not rows:
                return flagged
            Ticket.objects.filter(pk__in=[t.pk for t in rows]).update(
                is_overdue=True, overdue_notified_at=now
            )
            record_history(Ticket, [t.pk for t in rows])
            TicketEvent.objects.bulk_create(
                [
                    TicketEvent(ticket=t, kind=TicketEvent.Kind.OVERDUE, at=now, payload={})
                    for t in rows
                ]
            )
            for t in rows:
                notify.send(
                    t.assignee or t.created_by,
                    "customers.ticket_overdue",
                    t,
                    message=_("Ticket overdue: %(title)s (%(customer)s)")
                    % {"title": t.title, "customer": t.customer.name},
                )
            flagged += len(rows)
