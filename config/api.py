"""/api/v1/: the router every app registers its viewsets on (DESIGN §5)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from apps.approvals import api as approvals_api
from apps.customers import api as customers_api
from apps.docs import api as docs_api
from apps.notify import api as notify_api
from apps.org import api as org_api
from apps.reports import api as reports_api
from apps.sales import api as sales_api
from apps.studio import api as studio_api
from apps.tasks import api as tasks_api

router = DefaultRouter()
for module in (
    org_api,
    studio_api,
    notify_api,
    customers_api,
    sales_api,
    approvals_api,
    tasks_api,
    docs_api,
    reports_api,
):
    module.register(router)


class TokenView(ObtainAuthToken):
    """POST {"username", "password"} → {"token"}. Failed attempts count toward the lockout."""

    def get_serializer_context(self):
        # Authenticate with Django's request, not DRF's wrapper: axes marks the request it is
        # given as locked out, and its middleware (which answers 429) only sees Django's.
        return {**super().get_serializer_context(), "request": self.request._request}


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
