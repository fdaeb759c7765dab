"""The admin site: Django's, plus the optional rule that staff must sign in with two factors
(`WEFT_STAFF_REQUIRE_2FA`, docs/deployment.md "Security")."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _


def two_factor_satisfied(request) -> bool:
    if not getattr(settings, "WEFT_STAFF_REQUIRE_2FA", False):
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class AuditedActionsMixin:
    """Bulk admin actions leave a LogEntry per record they touched (Django logs single
    add/change/delete itself, not actions). `delete_selected` is left alone: Django logs each
    deletion it confirms. An action that answers with an intermediate page (a form, a
    confirmation) has changed nothing yet and is not logged."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {
            name: (func if name == "delete_selected" else _audited(func, name, desc), name, desc)
            for name, (func, name, desc) in actions.items()
        }


def _audited(func, name: str, description):
    def run(modeladmin, request, queryset):
        # Imported here: this module is loaded with the app registry (the AdminConfig).
        from django.contrib.admin.models import CHANGE, LogEntry

        pks = list(queryset.values_list("pk", flat=True))
        result = func(modeladmin, request, queryset)
        if isinstance(result, TemplateResponse) or not pks:
            return result
        message = _("Admin action: %(action)s") % {"action": description or name}
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=queryset.model._base_manager.filter(pk__in=pks),
            action_flag=CHANGE,
            change_message=message,
        )
        return result

    run.__name__ = getattr(func, "__name__", name)
    for attr in ("short_description", "allowed_permissions"):
        if hasattr(func, attr):
            setattr(run, attr, getattr(func, attr))
    return run


class WeftAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        # Every ModelAdmin of every app (ours and third-party) gets audited actions.
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedActionsMixin):
            admin_class = type(admin_class.__name__, (AuditedActionsMixin, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        return super().has_permission(request) and two_factor_satisfied(request)

    def login(self, request, extra_context=None):
        """One sign-in page for the whole suite (it handles the second factor); a signed-in
        staff member without a verified second factor is sent to set one up."""
        if request.user.is_authenticated and request.user.is_staff:
            messages.warning(request, _("The administration requires two-factor sign-in."))
            return redirect("two_factor")
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")


class WeftAdminConfig(AdminConfig):
    default_site = "apps.org.admin_site.WeftAdminSite"
