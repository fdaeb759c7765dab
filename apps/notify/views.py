from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import channels, services
from .models import ChannelSetting, Notification
from .selectors import notification_list


def unread_home_panel(request) -> dict | None:
    """Home page card: the newest unread notifications (one query; nothing when all are read)."""
    recent = list(notification_list(user=request.user, unread_only=True)[:5])
    if not recent:
        return None
    return {
        "title": _("Unread notifications"),
        "icon": "bell",
        "url": reverse("notify:list") + "?unread=1",
        "template": "notify/home_panel.html",
        "context": {"notifications": recent},
        "order": 10,
    }


@login_required
def notification_list_view(request):
    unread = request.GET.get("unread") == "1"
    page = Paginator(notification_list(user=request.user, unread_only=unread), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "notify/list.html", {"page": page, "unread": unread})


@login_required
@require_POST
def notification_open(request, pk: int):
    """Mark read and follow the link (the bell's entries post here)."""
    n = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.notification_mark_read(notification=n, by=request.user)
    if n.url and url_has_allowed_host_and_scheme(n.url, allowed_hosts={request.get_host()}):
        return redirect(n.url)
    return redirect("notify:list")


@login_required
@require_POST
def notification_read_all(request):
    count = services.notifications_mark_all_read(by=request.user)
    messages.success(request, _("%(n)d notifications marked as read.") % {"n": count})
    return redirect("notify:list")


def _parse_time(raw: str):
    import datetime as dt

    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        return False


@login_required
def channel_settings(request):
    """Channels on/off, per-event choices (events × channels) and quiet hours."""
    from .events import events
    from .models import QuietHours

    available = list(channels.all_channels())
    rows_qs = ChannelSetting.objects.filter(user=request.user)
    current = {s.channel: s.enabled for s in rows_qs if not s.event}
    per_event = {(s.event, s.channel): s.enabled for s in rows_qs if s.event}
    quiet = QuietHours.objects.filter(user=request.user).first()
    known = events()
    errors = {}
    if request.method == "POST":
        start = _parse_time(request.POST.get("quiet_start"))
        end = _parse_time(request.POST.get("quiet_end"))
        if start is False or end is False or (start is None) != (end is None):
            errors["quiet"] = _("Give both times as HH:MM, or leave both empty.")
        elif start is not None and start == end:
            errors["quiet"] = _("Quiet hours must end at another time than they start.")
        if not errors:
            with transaction.atomic():
                for ch in available:
                    on = request.POST.get(ch.name) == "on"
                    services.channel_setting_set(user=request.user, channel=ch.name, enabled=on)
                    for key, _label in known:
                        services.channel_setting_set(
                            user=request.user,
                            channel=ch.name,
                            event=key,
                            enabled=request.POST.get(f"{key}:{ch.name}") == "on",
                        )
                services.quiet_hours_set(user=request.user, start=start, end=end)
            messages.success(request, _("Notification settings saved."))
            return redirect("notify:settings")
    rows = [
        {
            "name": c.name,
            "label": c.label,
            "enabled": current.get(c.name, c.default_on),
            "available": c.available_for(request.user),
        }
        for c in available
    ]
    matrix = [
        {
            "key": key,
            "label": label,
            "cells": [
                {
                    "name": f"{key}:{r['name']}",
                    "label": r["label"],
                    "on": per_event.get((key, r["name"]), r["enabled"]),
                    "available": r["available"],
                }
                for r in rows
            ],
        }
        for key, label in known
    ]
    return render(
        request,
        "notify/settings.html",
        {"rows": rows, "matrix": matrix, "quiet": quiet, "errors": errors},
    )
