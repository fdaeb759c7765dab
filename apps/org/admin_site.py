"""The admin site: Django's, plus the optional rule that staff must sign in with two factors
(`WEFT_STAFF_REQUIRE_2FA`, docs/deployment.md "Security")."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _


def two_factor_satisfied(request) -> bool:
    if not getattr(settings, "WEFT_STAFF_REQUIRE_2FA", False):
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class WeftAdminSite(admin.AdminSite):
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
