"""Start-up wiring of the sales app, deals part: navigation entries, 360° panels and timeline
source, the stalled-deals to-do provider, the global search of opportunities, the outcome
handler of the `discount` approval, and the Celery job module. Called once from
SalesConfig.ready()."""

from __future__ import annotations

from django.db.models import Count, Window
from django.utils.translation import gettext_lazy as _


def opportunities_panel(user, customer):
    from apps.customers.panels import Panel

    from ..selectors.deals import customer_opportunities

    if not user.has_perm("sales.view_opportunity"):
        return None
    rows = customer_opportunities(user=user, customer=customer)
    from django.urls import reverse

    return Panel(
        title=_("Opportunities"),
        template="sales/deals/_customer_opportunities.html",
        context={"rows": rows, "can_add": user.has_perm("sales.add_opportunity")},
        count=len(rows),
        order=20,
        icon="briefcase",
        url=f"{reverse('sales:opportunity-list')}?customer={customer.pk}",
    )


def quotes_panel(user, customer):
    from apps.customers.panels import Panel

    from ..selectors.deals import customer_quotes

    if not user.has_perm("sales.view_quote"):
        return None
    rows = customer_quotes(user=user, customer=customer)
    from django.urls import reverse

    return Panel(
        title=_("Quotes"),
        template="sales/deals/_customer_quotes.html",
        context={"rows": rows, "can_add": user.has_perm("sales.add_quote")},
        count=len(rows),
        order=25,
        icon="receipt",
        url=f"{reverse('sales:quote-list')}?customer={customer.pk}",
    )


def opportunity_timeline(user, customer, limit, before=None):
    """Won, lost and stage moves of the customer's deals the user may see (one query)."""
    from apps.customers.panels import TimelineItem

    from ..models import Opportunity, OpportunityEvent
    from ..selectors.deals import kind_label

    if not user.has_perm("sales.view_opportunity"):
        return []
    visible = Opportunity.objects.visible_to(user).filter(customer=customer).values("pk")
    qs = (
        OpportunityEvent.objects.filter(opportunity__in=visible)
        .exclude(kind__in=[OpportunityEvent.Kind.UPDATED, OpportunityEvent.Kind.STALLED])
        .select_related("actor", "opportunity")
        .order_by("-at", "-id")
    )
    if before is not None:
        qs = qs.filter(at__lt=before)
    items = []
    for e in qs[:limit]:
        body = ""
        if e.payload.get("to_name"):
            body = f"{e.payload.get('from_name', '')} → {e.payload['to_name']}"
        if e.payload.get("reason"):
            body = f"{body} · {e.payload['reason']}" if body else e.payload["reason"]
        items.append(
            TimelineItem(
                at=e.at,
                kind=f"sales.opportunity_{e.kind}",
                title=f"{e.opportunity.name} · {kind_label(e)}",
                body=body,
                actor=e.actor,
                url=e.opportunity.get_absolute_url(),
                source="sales",
                object_id=e.opportunity_id,
                payload={"opportunity": e.opportunity_id},
            )
        )
    return items


def stalled_todos(user, limit):
    from django.urls import reverse

    from apps.org.todos import TodoItem, TodoPage

    from ..selectors.deals import stalled_for

    qs = stalled_for(user)
    if limit == 0:
        return TodoPage(count=qs.count())
    rows = list(qs.annotate(total=Window(Count("pk"))).select_related("customer")[:limit])
    items = [
        TodoItem(
            kind="stalled_deal",
            title=str(o.name),
            subtitle=o.customer.name,
            url=reverse("sales:opportunity-detail", args=[o.pk]),
            due_at=o.stalled_warned_at,
            object_id=o.pk,
            overdue=True,
        )
        for o in rows
    ]
    return TodoPage(count=rows[0].total if rows else 0, items=items)


def search_opportunities(user, text, limit=8):
    from apps.customers.search import SearchHit
    from apps.org.fields import field_access

    from ..models import Opportunity

    if not user.has_perm("sales.view_opportunity"):
        return []
    text = (text or "").strip()[:100]
    if len(text) < 2:
        return []
    access = field_access(user, Opportunity)
    rows = (
        Opportunity.objects.visible_to(user)
        .filter(name__icontains=text)
        .select_related("customer")
        .order_by("-updated_at")[:limit]
    )
    return [
        SearchHit(
            kind="opportunity",
            id=o.pk,
            title=o.name,
            subtitle=" · ".join(
                p
                for p in (
                    o.customer.name if access.can_view("customer") else "",
                    f"¥{o.amount:,.0f}" if access.can_view("amount") else "",
                )
                if p
            ),
            url=o.get_absolute_url(),
            obj=o,
        )
        for o in rows
    ]


def connect() -> None:
    """Register this part's plug-ins with the foundation and the customers app."""
    from apps.approvals.hooks import register_outcome_handler
    from apps.customers.panels import register_panel, register_timeline_source
    from apps.customers.search import register_search_provider
    from apps.org.navigation import MenuItem, register
    from apps.org.todos import TodoProvider, register_provider

    from .. import tasks_deals  # noqa: F401 - registers the Celery job
    from ..services.deals import quote_approval_outcome

    register(
        MenuItem(
            group="crm",
            key="sales-board",
            label=_("Deals"),
            url_name="sales:opportunity-board",
            icon="kanban",
            perm="sales.view_opportunity",
            order=40,
        )
    )
    register(
        MenuItem(
            group="crm",
            key="sales-quotes",
            label=_("Quotes"),
            url_name="sales:quote-list",
            icon="receipt",
            perm="sales.view_quote",
            order=45,
        )
    )
    register(
        MenuItem(
            group="crm",
            key="sales-products",
            label=_("Products"),
            url_name="sales:product-list",
            icon="box-seam",
            perm="sales.view_product",
            order=47,
        )
    )
    register(
        MenuItem(
            group="reports",
            key="sales-forecast",
            label=_("Sales forecast"),
            url_name="sales:forecast",
            icon="graph-up",
            perm="sales.view_opportunity",
            order=20,
        )
    )
    register_panel("opportunities", opportunities_panel, order=20)
    register_panel("quotes", quotes_panel, order=25)
    register_timeline_source("opportunities", opportunity_timeline)
    register_provider(
        TodoProvider(
            kind="stalled_deal",
            label=_("Stalled deals"),
            icon="hourglass-split",
            fetch=stalled_todos,
            perm="sales.view_opportunity",
            order=40,
        )
    )
    register_search_provider("opportunities", _("Opportunities"), search_opportunities, order=40)
    register_outcome_handler("sales.quote", quote_approval_outcome)
    # A follow-up logged against a deal refreshes the deal's last activity (customers may not
    # import sales, so sales listens to the follow-up services' after-commit signal).
    from apps.customers.models import FollowUp
    from apps.studio.automation.signals import record_committed

    from ..services.deals_activity import follow_up_recorded

    record_committed.connect(
        follow_up_recorded, sender=FollowUp, dispatch_uid="sales.follow_up_recorded"
    )
