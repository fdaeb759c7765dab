"""Start-up wiring of the sales app, contracts part: navigation entries, 360° panels, to-do
providers, approval outcome handlers. Called once from SalesConfig.ready()."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def contracts_panel(user, customer):
    """360° panel: the customer's contracts with delivery status (service sees it too)."""
    from apps.customers.models import Ticket
    from apps.customers.panels import Panel
    from apps.org.fields import field_access

    from ..models import Contract
    from ..selectors.contracts import customer_contracts

    if not user.has_perm("sales.view_contract"):
        return None
    rows = customer_contracts(user=user, customer=customer, limit=10)
    access = field_access(user, Contract)
    show_amount = access.can_view("amount")
    tickets: dict[int, list] = {}
    if rows and user.has_perm("customers.view_ticket"):
        for t in (
            Ticket.objects.visible_to(user)
            .filter(customer=customer, contract_id__in=[c.pk for c in rows])
            .only("pk", "title", "status", "contract_id")
            .order_by("-created_at")
        ):
            tickets.setdefault(t.contract_id, []).append(t)
    for c in rows:
        c.panel_tickets = tickets.get(c.pk, [])[:3]
    return Panel(
        title=_("Contracts"),
        template="sales/contracts/_customer_panel.html",
        context={
            "rows": rows,
            "show_amount": show_amount,
            "show_receivable": show_amount and access.can_view("received_amount"),
        },
        count=len(rows),
        url=reverse("sales:contract-list") + f"?customer={customer.pk}",
        icon="file-earmark-text",
        order=40,
    )


def kind_label(kind: str) -> str:
    from ..models import ContractEvent

    kinds = ContractEvent.Kind
    return str(kinds(kind).label) if kind in kinds.values else kind


def contract_timeline(user, customer, limit, before):
    """Contract history rows of the customer's visible contracts for the 360° feed."""
    from apps.customers.panels import TimelineItem

    from ..models import Contract, ContractEvent

    if not user.has_perm("sales.view_contract"):
        return []
    qs = ContractEvent.objects.filter(
        contract__in=Contract.objects.visible_to(user).filter(customer=customer).values("pk")
    ).select_related("actor", "contract")
    if before is not None:
        qs = qs.filter(at__lt=before)
    money_kinds = {"payment", "payment_removed"}
    from apps.org.fields import field_access

    access = field_access(user, Contract)
    show_amount = access.can_view("amount")
    items = []
    for e in qs.order_by("-at", "-id")[:limit]:
        body = ""
        if e.kind == ContractEvent.Kind.DELIVERY:
            to = e.payload.get("to")
            if access.can_view("delivery_status") and to in Contract.Delivery.values:
                body = str(Contract.Delivery(to).label)
        elif e.kind in money_kinds and show_amount and e.payload.get("amount"):
            body = f"¥{e.payload['amount']}"
        elif e.payload.get("reason"):
            body = str(e.payload["reason"])
        items.append(
            TimelineItem(
                at=e.at,
                kind=f"sales.contract_{e.kind}",
                title=f"{e.contract.number} · {kind_label(e.kind)}",
                body=body,
                actor=e.actor,
                url=e.contract.get_absolute_url(),
                source="contracts",
                object_id=e.contract_id,
                payload={"contract": e.contract_id, "kind": e.kind},
            )
        )
    return items


def payments_due(user, limit):
    """To-do "payments due": unpaid instalments due within the reminder window or overdue."""
    from apps.org.todos import TodoItem, TodoPage

    from ..models import SalesSettings
    from ..selectors.contracts import payments_due_for

    today = timezone.localdate()
    qs = payments_due_for(user, within_days=SalesSettings.load().payment_reminder_days, today=today)
    if limit == 0:
        return TodoPage(count=qs.count())
    rows = list(qs.annotate(total=Window(Count("pk")))[:limit])
    items = [
        TodoItem(
            kind="payment",
            title=_("%(number)s instalment %(seq)s · ¥%(amount)s")
            % {"number": p.contract.number, "seq": p.seq, "amount": p.unpaid},
            url=p.contract.get_absolute_url(),
            due_at=timezone.make_aware(dt.datetime.combine(p.due_date, dt.time(18, 0))),
            object_id=p.pk,
            subtitle=p.contract.customer.name,
            overdue=p.due_date < today,
        )
        for p in rows
    ]
    return TodoPage(count=rows[0].total if rows else 0, items=items)


def connect() -> None:
    """Register this part's plug-ins with the foundation and the customers app."""
    from apps.approvals.hooks import register_outcome_handler
    from apps.customers.panels import register_panel, register_timeline_source
    from apps.org.navigation import MenuItem, register
    from apps.org.todos import TodoProvider, register_provider

    from .. import tasks_contracts  # noqa: F401 - registers the Celery task
    from ..services.contracts import contract_approval_outcome
    from ..services.contracts_invoices import invoice_approval_outcome

    register(
        MenuItem(
            group="crm",
            key="contracts",
            label=gettext_lazy("Contracts"),
            url_name="sales:contract-list",
            icon="file-earmark-text",
            perm="sales.view_contract",
            order=40,
        )
    )
    register(
        MenuItem(
            group="crm",
            key="payments",
            label=gettext_lazy("Payments"),
            url_name="sales:payment-list",
            icon="cash-coin",
            perm="sales.view_payment",
            order=42,
        )
    )
    register(
        MenuItem(
            group="crm",
            key="invoices",
            label=gettext_lazy("Invoices"),
            url_name="sales:invoice-list",
            icon="receipt",
            perm="sales.view_invoice",
            order=44,
        )
    )
    register_panel("contracts", contracts_panel, order=40)
    register_timeline_source("contracts", contract_timeline)
    register_provider(
        TodoProvider(
            kind="payment",
            label=gettext_lazy("Payments due"),
            fetch=payments_due,
            icon="cash-coin",
            perm="sales.add_payment",
            order=60,
        )
    )
    register_outcome_handler("sales.contract", contract_approval_outcome)
    register_outcome_handler("sales.invoice", invoice_approval_outcome)
