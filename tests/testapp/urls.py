"""Test URLconf: the real site plus the test Record endpoint under /api/v1/test/."""

from django.urls import include, path

from config.urls import urlpatterns as site_urlpatterns

from .api import router

urlpatterns = [
    path("api/v1/test/", include(router.urls)),
    *site_urlpatterns,
]
