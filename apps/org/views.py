"""Shell pages: home, profile, password, language, the people directory, error pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services, twofactor
from .forms import CodeForm, LanguageForm, LoginForm, ProfileForm, WeftPasswordChangeForm
from .models import Department
from .navigation import home_panels
from .selectors import department_tree, manager_chain, user_directory


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if twofactor.confirmed_device(user) is None:
            return super().form_valid(form)
        # Password right, second factor still to come: nobody is signed in yet.
        twofactor.begin_pending_login(self.request, user)
        next_url = self.get_redirect_url()
        verify = reverse("login_verify")
        return redirect(f"{verify}?{urlencode({'next': next_url})}" if next_url else verify)


def login_verify(request):
    """Second sign-in step: the code from the user's authenticator app."""
    user = twofactor.pending_user(request)
    if user is None:
        messages.warning(request, _("Please sign in again."))
        return redirect("login")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            twofactor.finish_login(request, user, device)
            return redirect(next_url or "home")
        if twofactor.record_wrong_code(request):
            messages.error(request, _("Too many wrong codes. Please sign in again."))
            return redirect("login")
        form.add_error("code", _("This code is not valid. Check your phone's clock and try again."))
    return render(request, "registration/login_verify.html", {"form": form, "next": next_url})


@login_required
def two_factor(request):
    """Profile → two-factor sign-in: set up (scan, confirm with a code) or remove."""
    device = twofactor.confirmed_device(request.user)
    form = CodeForm(request.POST or None)
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "start":
        twofactor.device_start(user=request.user)
        return redirect("two_factor")
    pending = None if device else twofactor.pending_device(request.user)
    if request.method == "POST" and action in ("confirm", "remove") and form.is_valid():
        code = form.cleaned_data["code"]
        if (
            action == "confirm"
            and pending
            and twofactor.device_confirm(request=request, device=pending, code=code)
        ):
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("two_factor")
        if action == "remove" and device and twofactor.device_remove(user=request.user, code=code):
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("two_factor")
        form.add_error("code", _("This code is not valid. Check your phone's clock and try again."))
    context = {
        "device": device,
        "pending": pending,
        "qr": twofactor.qr_svg(pending) if pending else "",
        "secret": _base32(pending.bin_key) if pending else "",
        "form": form,
        "required": settings.WEFT_STAFF_REQUIRE_2FA and request.user.is_staff,
    }
    return render(request, "org/two_factor.html", context)


def _base32(key: bytes) -> str:
    import base64

    secret = base64.b32encode(key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = WeftPasswordChangeForm

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)

    def get_success_url(self):
        return "/profile/"


@login_required
def home(request):
    panels = [p for p in (panel(request) for panel in home_panels()) if p]
    panels.sort(key=lambda p: p.get("order", 100))
    return render(request, "org/home.html", {"panels": panels})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=request.user, by=request.user, data=form.cleaned_data)
        if form.cleaned_data.get("language"):
            translation.activate(form.cleaned_data["language"])
        messages.success(request, _("Your profile was saved."))
        return redirect("profile")
    return render(
        request,
        "org/profile.html",
        {
            "form": form,
            "managers": manager_chain(request.user, levels=3),
        },
    )


@require_POST
def set_language(request):
    """Language switch: remembered in a cookie, and on the user when signed in."""
    form = LanguageForm(request.POST)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    if form.is_valid():
        lang = form.cleaned_data["language"]
        if request.user.is_authenticated:
            services.user_set_language(user=request.user, language=lang)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@login_required
@permission_required("org.view_user", raise_exception=True)
def people(request):
    qs = user_directory(user=request.user, filters=request.GET)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "org/people.html",
        {
            "page": page,
            "tree": department_tree(),
            "departments": Department.objects.order_by("order", "name"),
            "q": request.GET.get("q", ""),
            "department": request.GET.get("department", ""),
        },
    )


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    # No request context: the context processors read the session and the database, which may
    # be what just failed. 500.html needs nothing but static files and translations.
    return HttpResponseServerError(loader.render_to_string("500.html"))
