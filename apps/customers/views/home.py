"""Sidebar entries and the home-page panel of the customers pages (registered from
`CustomersConfig.ready()`; the shell never imports this app)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _can_import(user) -> bool:
    return user.has_perm("customers.add_customer") or user.has_perm("customers.add_contact")


def register_pages() -> None:
    from apps.org.navigation import MenuItem, register, register_home_panel

    entries = [
        ("customers", _("Customers"), "customers:list", "buildings", "customers.view_customer", 10),
        (
            "customers-pool",
            _("Public pool"),
            "customers:pool",
            "water",
            "customers.view_customer",
            11,
        ),
        (
            "customers-contacts",
            _("Contacts"),
            "customers:contacts",
            "person-lines-fill",
            "customers.view_contact",
            12,
        ),
        (
            "customers-tickets",
            _("Tickets"),
            "customers:tickets",
            "life-preserver",
            "customers.view_ticket",
            13,
        ),
        (
            "customers-import",
            _("Import"),
            "customers:import",
            "upload",
            "customers.add_customer",
            19,
        ),
    ]
    for key, label, url_name, icon, perm, order in entries:
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
    register_home_panel("customers-follow-ups", follow_ups_panel)


def follow_ups_panel(request):
    """Home card: my customers whose next follow-up is due by the end of today (1 query)."""
    from ..models import Customer

    user = request.user
    if not user.has_perm("customers.view_customer"):
        return None
    end = timezone.localtime().replace(hour=23, minute=59, second=59) + dt.timedelta(seconds=1)
    rows = list(
        Customer.objects.filter(owner=user, next_follow_up_at__lt=end)
        .only("pk", "name", "next_follow_up_at", "level")
        .order_by("next_follow_up_at", "pk")[:8]
    )
    if not rows:
        return None
    return {
        "title": _("Follow-ups due today"),
        "template": "customers/_home_panel.html",
        "context": {"rows": rows, "now": timezone.now()},
        "order": 20,
        "icon": "telephone-outbound",
        "url": reverse("customers:list") + "?owner=me&sort=next_follow_up_at",
    }
