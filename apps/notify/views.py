from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
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


@login_required
def channel_settings(request):
    available = [c for c in channels.all_channels()]
    current = {s.channel: s.enabled for s in ChannelSetting.objects.filter(user=request.user)}
    if request.method == "POST":
        for ch in available:
            services.channel_setting_set(
                user=request.user, channel=ch.name, enabled=request.POST.get(ch.name) == "on"
            )
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
    return render(request, "notify/settings.html", {"rows": rows})
