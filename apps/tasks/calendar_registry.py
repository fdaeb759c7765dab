"""What the calendar plugs into elsewhere: sidebar entries, the home card, and the customer's
360° page (a panel and a timeline source). Called from TasksConfig.ready()."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def customer_events_panel(user, customer):
    from apps.customers.panels import Panel

    from .calendar_selectors import customer_events

    if not user.has_perm("tasks.view_event"):
        return None
    rows = customer_events(user=user, customer=customer, limit=8)
    can_add = user.has_perm("tasks.add_event")
    if not rows and not can_add:
        return None
    return Panel(
        title=_("Meetings and events"),
        template="tasks/calendar/_customer_panel.html",
        context={
            "rows": rows,
            "now": timezone.now(),
            "new_url": reverse("tasks:event-create") + f"?customer={customer.pk}"
            if can_add
            else "",
        },
        count=len(rows),
        order=60,
        icon="calendar-event",
    )


def customer_events_timeline(user, customer, limit, before):
    from apps.customers.panels import TimelineItem

    from .calendar_selectors import customer_events

    if not user.has_perm("tasks.view_event"):
        return []
    items = []
    for e in customer_events(user=user, customer=customer, limit=limit, before=before):
        where = e.meeting_room.name if e.meeting_room_id else e.location
        items.append(
            TimelineItem(
                at=e.start,
                kind="tasks.event_cancelled" if e.is_cancelled else "tasks.event",
                title=str(e.title),
                body=" · ".join(
                    p
                    for p in (
                        timezone.localtime(e.start).strftime("%Y-%m-%d %H:%M"),
                        where,
                        str(_("Cancelled")) if e.is_cancelled else "",
                    )
                    if p
                ),
                actor=e.organizer,
                url=e.get_absolute_url(),
                source="tasks",
                object_id=e.pk,
            )
        )
    return items


def home_panel(request):
    """Home card: what is left of my day (one query)."""
    from .calendar_selectors import today_for

    user = request.user
    if not user.has_perm("tasks.view_event"):
        return None
    rows = today_for(user, limit=6)
    if not rows:
        return None
    return {
        "title": _("Today"),
        "template": "tasks/calendar/_home_panel.html",
        "context": {"rows": rows[:5], "more": len(rows) > 5},
        "order": 15,
        "icon": "calendar-event",
        "url": reverse("tasks:agenda"),
    }


def register() -> None:
    from apps.customers.panels import register_panel, register_timeline_source
    from apps.org.navigation import MenuItem, register_home_panel
    from apps.org.navigation import register as register_menu

    register_menu(
        MenuItem(
            group="oa",
            key="calendar",
            label=_("Calendar"),
            url_name="tasks:calendar",
            icon="calendar3",
            perm="tasks.view_event",
            order=20,
        )
    )
    register_menu(
        MenuItem(
            group="oa",
            key="rooms",
            label=_("Meeting rooms"),
            url_name="tasks:rooms",
            icon="door-open",
            order=21,
        )
    )
    register_home_panel("tasks-today", home_panel)
    register_panel("events", customer_events_panel, order=60)
    register_timeline_source("events", customer_events_timeline)
