"""/api/v1/: the router every app registers its viewsets on (DESIGN §5)."""

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from apps.approvals import api as approvals_api
from apps.customers import api as customers_api
from apps.docs import api as docs_api
from apps.notify import api as notify_api
from apps.org import api as org_api
from apps.org import twofactor
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


class TokenSerializer(AuthTokenSerializer):
    """Username and password, plus `otp` (the authenticator code) for users with two-factor
    sign-in on: a password alone must not open the API either."""

    otp = serializers.CharField(required=False, allow_blank=True, write_only=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        if twofactor.confirmed_device(user) is not None:
            code = attrs.get("otp", "")
            if not code:
                raise serializers.ValidationError(
                    {"otp": [_("This account uses two-factor sign-in: send the code as otp.")]}
                )
            if twofactor.verify_code(user, code) is None:
                raise serializers.ValidationError({"otp": [_("This code is not valid.")]})
        return attrs


class TokenView(ObtainAuthToken):
    """POST {"username", "password"[, "otp"]} → {"token"}. Failed attempts count toward the
    lockout."""

    serializer_class = TokenSerializer

    def get_serializer_context(self):
        # Authenticate with Django's request, not DRF's wrapper: axes marks the request it is
        # given as locked out, and its middleware (which answers 429) only sees Django's.
        return {**super().get_serializer_context(), "request": self.request._request}


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
