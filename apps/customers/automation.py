"""Open customers, contacts, follow-ups and tickets to automation rules (DESIGN §4.3).

Only the fields listed here (and each model's custom fields) are visible to rule conditions,
message templates ({customer.name}), "set field" and webhook payloads. Rule actions write through
the services below as the system (by=None), so every invariant and history row still applies.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.studio.automation import ModelSpec, register_model

CUSTOMER_FIELDS = [
    "name",
    "industry",
    "source",
    "level",
    "status",
    "province",
    "city",
    "region",
    "phone",
    "email",
    "website",
    "owner",
    "department",
    "territory",
    "created_at",
    "last_contacted_at",
    "next_follow_up_at",
    "satisfaction_avg",
]
CUSTOMER_SETTABLE = ["industry", "source", "level", "status", "region", "next_follow_up_at"]
CONTACT_FIELDS = ["customer", "name", "title", "mobile", "phone", "email", "is_primary"]
CONTACT_SETTABLE = ["title", "is_primary"]
FOLLOW_UP_FIELDS = [
    "customer",
    "contact",
    "kind",
    "content",
    "occurred_at",
    "next_step",
    "next_follow_up_at",
    "owner",
]
TICKET_FIELDS = [
    "customer",
    "title",
    "priority",
    "status",
    "assignee",
    "department",
    "created_at",
    "sla_due_at",
    "resolved_at",
    "satisfaction",
    "is_overdue",
]

EVENTS = [
    ("customers.assigned", _("A customer was assigned to me")),
    ("customers.released", _("My customer went back to the pool")),
    ("customers.ticket_assigned", _("A ticket was assigned to me")),
    ("customers.ticket_resolved", _("A ticket I opened was resolved")),
    ("customers.ticket_reopened", _("A ticket of mine was reopened")),
]


def _customer_update(customer, data):
    from .services import customer_update

    return customer_update(customer=customer, by=None, data=data)


def _customer_assign(customer, owner):
    from .services import customer_assign

    return customer_assign(customers=[customer], owner=owner, by=None)


def _territory_owner(customer):
    from .services import territory_for_province

    match = territory_for_province(customer.province)
    owner = match.owner if match is not None else None
    return owner if owner is not None and owner.is_active else None


def _contact_update(contact, data):
    from .services import contact_update

    return contact_update(contact=contact, by=None, data=data)


def _ticket_update(ticket, data):
    from .services import ticket_update

    return ticket_update(ticket=ticket, by=None, data=data)


def _ticket_assign(ticket, assignee):
    from .services import ticket_assign

    return ticket_assign(ticket=ticket, assignee=assignee, by=None)


def register() -> None:
    from apps.notify.events import register_event

    from .models import Contact, Customer, FollowUp, Ticket

    register_model(
        ModelSpec(
            model=Customer,
            name="customer",
            fields=CUSTOMER_FIELDS,
            owner_field="owner",
            update=_customer_update,
            assign=_customer_assign,
            territory_owner=_territory_owner,
            settable=CUSTOMER_SETTABLE,
        )
    )
    register_model(
        ModelSpec(
            model=Contact,
            name="contact",
            fields=CONTACT_FIELDS,
            update=_contact_update,
            settable=CONTACT_SETTABLE,
        )
    )
    register_model(
        ModelSpec(model=FollowUp, name="follow_up", fields=FOLLOW_UP_FIELDS, owner_field="owner")
    )
    register_model(
        ModelSpec(
            model=Ticket,
            name="ticket",
            fields=TICKET_FIELDS,
            owner_field="assignee",
            update=_ticket_update,
            assign=_ticket_assign,
            settable=["title", "priority"],
        )
    )
    for key, label in EVENTS:
        register_event(key, label)
