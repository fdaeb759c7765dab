"""To-do inbox providers of the customers app (registered in `CustomersConfig.ready`):

* `follow_up` — my customers whose next follow-up is due by the end of today (overdue ones
  included), soonest first;
* `ticket` — open service tickets assigned to me, by SLA due time.

One query per call each (`window_page`).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.todos import TodoItem, TodoProvider, register_provider, window_page


def _end_of_today() -> dt.datetime:
    local = timezone.localtime()
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def follow_ups_due(user, limit: int):
    from .models import Customer

    now = timezone.now()
    qs = (
        Customer.objects.filter(owner_id=user.pk, next_follow_up_at__lt=_end_of_today())
        .only("pk", "name", "next_follow_up_at", "level")
        .order_by("next_follow_up_at", "pk")
    )

    def item(c) -> TodoItem:
        return TodoItem(
            kind="follow_up",
            title=c.name,
            url=reverse("customers:detail", args=[c.pk]),
            due_at=c.next_follow_up_at,
            object_id=c.pk,
            subtitle=str(_("Follow-up due")),
            overdue=c.next_follow_up_at < now,
        )

    return window_page(qs, limit, item)


def tickets_assigned(user, limit: int):
    from .models import Ticket

    now = timezone.now()
    qs = (
        Ticket.objects.filter(assignee_id=user.pk)
        .open()
        .select_related("customer")
        .only("pk", "title", "sla_due_at", "status", "customer__name", "customer_id")
        .order_by(F("sla_due_at").asc(nulls_last=True), "pk")
    )

    def item(t) -> TodoItem:
        return TodoItem(
            kind="ticket",
            title=t.title,
            url=reverse("customers:ticket-detail", args=[t.pk]),
            due_at=t.sla_due_at,
            object_id=t.pk,
            subtitle=t.customer.name,
            overdue=bool(t.sla_due_at and t.sla_due_at < now),
        )

    return window_page(qs, limit, item)


def register() -> None:
    register_provider(
        TodoProvider(
            kind="follow_up",
            label=_("Follow-ups due today"),
            icon="telephone-outbound",
            fetch=follow_ups_due,
            perm="customers.view_customer",
            order=30,
        )
    )
    register_provider(
        TodoProvider(
            kind="ticket",
            label=_("My tickets"),
            icon="life-preserver",
            fetch=tickets_assigned,
            perm="customers.view_ticket",
            order=40,
        )
    )
