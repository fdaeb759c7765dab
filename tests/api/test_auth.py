"""Authentication on /api/v1/: token endpoint, token and session auth, lockout, error shapes."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
USERS_URL = "/api/v1/users/"


def test_token_for_good_credentials(api_client, user, password):
    response = api_client.post(
        TOKEN_URL, {"username": "alice", "password": password}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
    # The same token comes back on the next sign-in.
    again = api_client.post(TOKEN_URL, {"username": "alice", "password": password})
    assert again.json() == response.json()


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": "wrong"},
        {"username": "alice"},
        {},
    ],
)
def test_token_refused_for_bad_credentials(api_client, user, payload):
    response = api_client.post(TOKEN_URL, payload, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


def test_inactive_user_gets_no_token(api_client, password):
    UserFactory(username="gone", is_active=False)
    response = api_client.post(TOKEN_URL, {"username": "gone", "password": password})
    assert response.status_code == 400


def test_token_auth(api_client, user):
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(USERS_URL).status_code == 200

    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(USERS_URL).status_code == 401


def test_session_auth(client, user, password):
    """Signing in on the login page gives a session the API accepts."""
    response = client.post("/accounts/login/", {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get(USERS_URL).status_code == 200


def test_session_auth_needs_csrf_for_writes(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(USERS_URL).status_code == 200
    response = client.post("/api/v1/notifications/read-all/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_anonymous_is_401(api_client):
    response = api_client.get(USERS_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


@pytest.mark.parametrize("url", [TOKEN_URL, "/api/v1/custom-fields/"])
def test_malformed_json_is_400_not_500(api_client, staff_user, url):
    api_client.force_authenticate(staff_user)
    response = api_client.post(url, data='{"username": "alice", ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_unknown_record_is_404_json(user_client):
    response = user_client.get("/api/v1/users/999999/")
    assert response.status_code == 404
    assert "detail" in response.json()


class TestLockout:
    """django-axes: after AXES_FAILURE_LIMIT bad passwords for one username, even the right
    password is refused (attempts live in the database, so the test rollback isolates them)."""

    @pytest.fixture(autouse=True)
    def _axes_on(self, settings):
        settings.AXES_ENABLED = True
        settings.AXES_FAILURE_LIMIT = 5

    def test_token_endpoint_locks_out(self, api_client, user, password):
        for _ in range(5):
            response = api_client.post(TOKEN_URL, {"username": "alice", "password": "bad"})
            assert response.status_code in (400, 429)

        response = api_client.post(TOKEN_URL, {"username": "alice", "password": password})

        assert response.status_code == 429
        assert "detail" in response.json()
        assert not Token.objects.exists()

    def test_lockout_is_per_username(self, api_client, user, other_user, password):
        for _ in range(5):
            api_client.post(TOKEN_URL, {"username": "alice", "password": "bad"})
        response = api_client.post(TOKEN_URL, {"username": "bob", "password": password})
        assert response.status_code == 200

    def test_fewer_failures_do_not_lock(self, api_client, user, password):
        for _ in range(4):
            api_client.post(TOKEN_URL, {"username": "alice", "password": "bad"})
        response = api_client.post(TOKEN_URL, {"username": "alice", "password": password})
        assert response.status_code == 200

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_limit_comes_from_settings(self, api_client, user, password):
        for _ in range(2):
            api_client.post(TOKEN_URL, {"username": "alice", "password": "bad"})
        response = api_client.post(TOKEN_URL, {"username": "alice", "password": password})
        assert response.status_code == 429

    def test_login_page_locks_out(self, client, user, password):
        for _ in range(5):
            client.post("/accounts/login/", {"username": "alice", "password": "bad"})

        response = client.post("/accounts/login/", {"username": "alice", "password": password})

        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_a_locked_out_api_user_is_locked_out_of_the_pages_too(
        self, api_client, client, user, password
    ):
        for _ in range(5):
            api_client.post(TOKEN_URL, {"username": "alice", "password": "bad"})
        response = client.post("/accounts/login/", {"username": "alice", "password": password})
        assert response.status_code == 429
