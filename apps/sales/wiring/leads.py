"""Start-up wiring of the sales app, leads part: navigation entries, the 360° panel and
timeline source, the "new leads not yet contacted" to-do kind, the global search kind.
Called once from SalesConfig.ready()."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Window
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def connect() -> None:
    """Register this part's plug-ins with the foundation and the customers app."""
    from apps.customers.panels import register_panel, register_timeline_source
    from apps.customers.search import register_search_provider
    from apps.org.navigation import MenuItem, register
    from apps.org.todos import TodoProvider, register_provider

    for key, label, url_name, icon, perm, order in (
        ("sales-leads", _("Leads"), "sales:lead-list", "funnel", "sales.view_lead", 30),
        (
            "sales-campaigns",
            _("Campaigns"),
            "sales:campaign-list",
            "megaphone",
            "sales.view_campaign",
            31,
        ),
    ):
        register(
            MenuItem(
                group="crm",
                key=key,
                label=label,
                url_name=url_name,
                icon=icon,
                perm=perm,
                order=order,
            )
        )
    register_panel("sales-leads", leads_panel, order=15)
    register_timeline_source("sales-leads", leads_timeline)
    register_provider(
        TodoProvider(
            kind="lead",
            label=_("New leads to contact"),
            icon="funnel",
            fetch=leads_todo,
            perm="sales.view_lead",
            order=30,
        )
    )
    register_search_provider("leads", _("Leads"), search_leads, order=30)


def leads_panel(user, customer):
    """Leads converted into this customer or flagged as matching it (one query)."""
    from apps.customers.panels import Panel

    from ..models import Lead

    if not user.has_perm("sales.view_lead"):
        return None
    rows = list(
        Lead.objects.visible_to(user)
        .filter(Q(converted_customer=customer) | Q(duplicate_customer=customer))
        .select_related("owner", "campaign")
        .order_by("-created_at", "-id")[:10]
    )
    if not rows:
        return None
    return Panel(
        title=str(_("Leads")),
        template="sales/leads/_customer_panel.html",
        context={"rows": rows},
        count=len(rows),
        icon="funnel",
        order=15,
    )


def leads_timeline(user, customer, limit, before=None):
    """ "Converted from lead" items of the 360° feed (one query)."""
    from apps.customers.panels import TimelineItem

    from ..models import LeadEvent

    if not user.has_perm("sales.view_lead"):
        return []
    qs = (
        LeadEvent.objects.filter(kind=LeadEvent.Kind.CONVERTED, lead__converted_customer=customer)
        .select_related("actor", "lead")
        .order_by("-at", "-id")
    )
    if before is not None:
        qs = qs.filter(at__lt=before)
    return [
        TimelineItem(
            at=e.at,
            kind="sales.lead_converted",
            title=str(_("Converted from lead %(lead)s") % {"lead": e.lead}),
            actor=e.actor,
            url=e.lead.get_absolute_url(),
            source="sales",
            object_id=e.lead_id,
            payload=e.payload,
        )
        for e in qs[:limit]
    ]


def leads_todo(user, limit):
    """The user's leads waiting for a first contact, oldest first (one query)."""
    from apps.org.todos import TodoItem, TodoPage

    from ..models import Lead, SalesSettings

    qs = Lead.objects.filter(owner=user, status__in=[Lead.Status.NEW, Lead.Status.ASSIGNED])
    if limit == 0:
        return TodoPage(count=qs.count())
    hours = SalesSettings.load().lead_contact_hours
    rows = list(
        qs.annotate(total=Window(Count("pk")))
        .only("pk", "company", "contact_name", "assigned_at", "created_at")
        .order_by("assigned_at", "pk")[:limit]
    )
    now = timezone.now()
    items = []
    for lead in rows:
        due = (lead.assigned_at or lead.created_at) + dt.timedelta(hours=hours)
        items.append(
            TodoItem(
                kind="lead",
                title=str(lead),
                url=lead.get_absolute_url(),
                due_at=due,
                object_id=lead.pk,
                subtitle=lead.contact_name,
                overdue=due < now,
            )
        )
    return TodoPage(count=rows[0].total if rows else 0, items=items)


def search_leads(user, text, limit=8):
    from apps.customers.search import SearchHit, first_matches
    from apps.org.fields import field_access

    from ..filters_leads import lead_search_branches
    from ..models import Lead

    if not user.has_perm("sales.view_lead"):
        return []
    access = field_access(user, Lead)
    qs = Lead.objects.visible_to(user).only(
        "pk", "company", "contact_name", "status", "province", "mobile"
    )
    rows = first_matches(qs, lead_search_branches(text, access), limit)
    return [
        SearchHit(
            kind="lead",
            id=lead.pk,
            title=str(lead),
            subtitle=" · ".join(
                p
                for p in (
                    lead.contact_name,
                    lead.province if access.can_view("province") else "",
                    lead.get_status_display() if access.can_view("status") else "",
                )
                if p
            ),
            url=lead.get_absolute_url(),
            obj=lead,
        )
        for lead in rows
    ]
