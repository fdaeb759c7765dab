from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from apps.customers.views import search as customer_search_views
from apps.org import health
from apps.org import views as org_views

admin.site.site_header = _("Weft administration")
admin.site.site_title = _("Weft")
admin.site.index_title = _("Settings and data")

urlpatterns = [
    path("", org_views.home, name="home"),
    path("accounts/login/", org_views.LoginView.as_view(), name="login"),
    path("accounts/login/verify/", org_views.login_verify, name="login_verify"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", org_views.PasswordChangeView.as_view(), name="password_change"),
    path("profile/", org_views.profile, name="profile"),
    path("profile/two-factor/", org_views.two_factor, name="two_factor"),
    path("i18n/setlang/", org_views.set_language, name="set_language"),
    path("org/", include("apps.org.urls")),
    path("notifications/", include("apps.notify.urls")),
    path("approvals/", include("apps.approvals.urls")),
    path("customers/", include("apps.customers.urls")),
    path("sales/", include("apps.sales.urls")),
    path("", include("apps.tasks.urls")),  # tasks/…, calendar/…, todos/…
    path("search/", customer_search_views.search, name="search"),
    path("reports/", include("apps.reports.urls")),
    path("", include("apps.docs.urls")),  # announcements/… and library/…
    path("admin/", admin.site.urls),
    path("healthz/", health.healthz, name="healthz"),
    path("healthz/full/", health.healthz_full, name="healthz-full"),
    path("api/v1/", include("config.api")),
]

# No MEDIA_URL route, not even with DEBUG: every uploaded file (attachments, document versions,
# imports) is served by a view that checks the user may see it.

handler403 = "apps.org.views.error_403"
handler404 = "apps.org.views.error_404"
handler500 = "apps.org.views.error_500"
