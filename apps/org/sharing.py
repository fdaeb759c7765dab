"""Sharing one record (guardian object grants): a page any scoped model's detail page links to.

{% url "org:share" app_label="customers" model="customer" pk=obj.pk %}
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from . import services
from .errors import ServiceError
from .models import User


def _scoped_object(request, app_label: str, model: str, pk: int):
    try:
        model_class = apps.get_model(app_label, model)
    except LookupError:
        raise Http404 from None
    if not hasattr(model_class, "scope_owner_field"):
        raise Http404
    obj = model_class.objects.visible_to(request.user).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def share_grants(obj) -> dict:
    """{"users": [(user, "view"|"change")], "roles": [(group, action)]} currently granted."""
    name = obj._meta.model_name

    def level(perms):
        return "change" if f"change_{name}" in perms else "view"

    users = get_users_with_perms(
        obj,
        attach_perms=True,
        with_superusers=False,
        with_group_users=False,
        only_with_perms_in=[f"view_{name}", f"change_{name}"],
    )
    groups = get_groups_with_perms(obj, attach_perms=True)
    return {
        "users": sorted(((u, level(p)) for u, p in users.items()), key=lambda t: t[0].username),
        "roles": sorted(
            (
                (g, level(p))
                for g, p in groups.items()
                if {f"view_{name}", f"change_{name}"} & set(p)
            ),
            key=lambda t: t[0].name,
        ),
    }


@login_required
def share(request, app_label: str, model: str, pk: int):
    obj = _scoped_object(request, app_label, model, pk)
    perm = f"{obj._meta.app_label}.change_{obj._meta.model_name}"
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied
    back = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if request.method == "POST":
        user = User.objects.filter(pk=request.POST.get("user") or 0, is_active=True).first()
        group = Group.objects.filter(pk=request.POST.get("role") or 0).first()
        try:
            if request.POST.get("op") == "remove":
                services.object_unshare(obj=obj, by=request.user, to_user=user, to_group=group)
                messages.success(request, _("Sharing removed."))
            else:
                services.object_share(
                    obj=obj,
                    by=request.user,
                    to_user=user,
                    to_group=group,
                    action=request.POST.get("action", "view"),
                )
                messages.success(request, _("Record shared."))
        except ServiceError as exc:
            messages.error(request, str(exc))
        url = request.path + (f"?next={back}" if back else "")
        return redirect(url)
    return render(
        request,
        "org/share.html",
        {
            "obj": obj,
            "grants": share_grants(obj),
            "users": User.objects.filter(is_active=True)
            .exclude(pk=request.user.pk)
            .order_by("username"),
            "roles": Group.objects.order_by("name"),
            "back": back,
        },
    )
