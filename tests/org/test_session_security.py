"""Sessions end after idle time and after an absolute lifetime; sign-out and deactivation end
API tokens too (issue 9, security hardening)."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from rest_framework.authtoken.models import Token

from apps.org.errors import ServiceError
from apps.org.services import user_deactivate
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    client.force_login(user)
    assert client.get("/profile/").status_code == 200


def test_an_idle_session_is_signed_out(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    _signed_in(client, user)
    later = time.time() + 601
    with mock.patch("time.time", return_value=later):
        response = client.get("/profile/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.get("/profile/").status_code == 302  # the session is gone for good


def test_an_active_session_survives_the_idle_limit(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    settings.SESSION_ABSOLUTE_TIMEOUT = 0
    _signed_in(client, user)
    start = time.time()
    for step in range(1, 5):  # a request every 5 minutes for 20 minutes
        with mock.patch("time.time", return_value=start + step * 300):
            assert client.get("/profile/").status_code == 200


def test_the_absolute_limit_ends_even_an_active_session(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    settings.SESSION_ABSOLUTE_TIMEOUT = 1200
    _signed_in(client, user)
    start = time.time()
    with mock.patch("time.time", return_value=start + 500):
        assert client.get("/profile/").status_code == 200
    with mock.patch("time.time", return_value=start + 1000):
        assert client.get("/profile/").status_code == 200
    with mock.patch("time.time", return_value=start + 1300):
        assert client.get("/profile/").status_code == 302


def test_signing_out_ends_the_api_token(client, api_client, user):
    token = Token.objects.create(user=user)
    client.force_login(user)
    client.post("/accounts/logout/")
    assert not Token.objects.filter(user=user).exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/users/").status_code == 401


def test_deactivation_ends_sessions_and_tokens(client, api_client, user, staff_user):
    token = Token.objects.create(user=user)
    _signed_in(client, user)
    user_deactivate(user=user, by=staff_user)
    user.refresh_from_db()
    assert user.is_active is False
    assert not Token.objects.filter(user=user).exists()
    assert client.get("/profile/").status_code == 302  # the open session no longer counts
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/users/").status_code == 401


def test_nobody_deactivates_themselves(staff_user):
    with pytest.raises(ServiceError):
        user_deactivate(user=staff_user, by=staff_user)
    staff_user.refresh_from_db()
    assert staff_user.is_active


def test_admin_action_deactivates(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    target = UserFactory()
    Token.objects.create(user=target)
    client.force_login(admin)
    response = client.post(
        "/admin/org/user/",
        {"action": "deactivate_users", "_selected_action": [target.pk, admin.pk]},
        follow=True,
    )
    assert response.status_code == 200
    target.refresh_from_db()
    admin.refresh_from_db()
    assert target.is_active is False and admin.is_active is True
    assert not Token.objects.filter(user=target).exists()
