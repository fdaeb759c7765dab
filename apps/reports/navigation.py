"""Sidebar entries and the home-page dashboard panel (registered from ReportsConfig.ready())."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def _any_report(user) -> bool:
    from .builtin import builtins_for

    return bool(builtins_for(user))


def register_pages() -> None:
    from apps.org.navigation import MenuItem, register, register_home_panel

    register(
        MenuItem(
            group="reports",
            key="reports",
            label=_("Reports"),
            url_name="reports:index",
            icon="bar-chart-line",
            order=10,
        )
    )
    register(
        MenuItem(
            group="reports",
            key="reports-dashboard",
            label=_("My dashboard"),
            url_name="reports:dashboard-home",
            icon="speedometer2",
            order=11,
        )
    )
    register(
        MenuItem(
            group="reports",
            key="reports-builder",
            label=_("Report builder"),
            url_name="reports:builder",
            icon="sliders",
            perm="reports.add_savedreport",
            order=12,
        )
    )
    register(
        MenuItem(
            group="reports",
            key="reports-targets",
            label=_("Sales targets"),
            url_name="reports:targets",
            icon="bullseye",
            perm="reports.manage_salestarget",
            order=13,
        )
    )
    register_home_panel("reports-dashboard", dashboard_panel)


def dashboard_panel(request):
    """Home card: the widgets of the user's home dashboard, each loaded by htmx (1 query here;
    the built-in defaults when the user has not arranged a dashboard yet)."""
    from .builtin import get_builtin
    from .models import DashboardItem
    from .services import HOME_DEFAULTS

    user = request.user
    if not _any_report(user):
        return None
    items = [
        {
            "title": item.title
            or (item.saved_report.name if item.saved_report_id else None)
            or getattr(get_builtin(item.builtin), "title", item.builtin),
            "width": item.width,
            "url": reverse("reports:widget") + f"?item={item.pk}",
        }
        for item in DashboardItem.objects.filter(dashboard__owner=user, dashboard__is_home=True)
        .select_related("saved_report")
        .order_by("position", "id")[:6]
    ]
    if not items:
        for key, width in HOME_DEFAULTS[:2]:
            report = get_builtin(key)
            if report and report.allowed(user):
                items.append(
                    {
                        "title": report.title,
                        "width": width,
                        "url": reverse("reports:widget") + f"?builtin={key}",
                    }
                )
    if not items:
        return None
    return {
        "title": _("My dashboard"),
        "template": "reports/_home_panel.html",
        "context": {"items": items},
        "order": 5,
        "icon": "speedometer2",
        "url": reverse("reports:dashboard-home"),
        "url_label": _("Open"),
    }
