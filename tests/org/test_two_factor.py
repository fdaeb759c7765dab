"""Optional two-factor sign-in (TOTP): set-up, the second sign-in step, the token API and the
administration rule for staff (issue 9, security hardening)."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    # django-otp delays the next try after a wrong code (1 s, doubling); the tests try at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def device(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_set_up_scan_and_confirm(client, user):
    client.force_login(user)
    page = client.get("/profile/two-factor/")
    assert b"Set up two-factor sign-in" in page.content

    client.post("/profile/two-factor/", {"action": "start"})
    pending = TOTPDevice.objects.get(user=user)
    assert pending.confirmed is False
    page = client.get("/profile/two-factor/")
    assert b"<svg" in page.content  # the QR code, drawn on the server

    wrong = client.post("/profile/two-factor/", {"action": "confirm", "code": "000000"})
    assert "not valid" in wrong.content.decode()
    assert TOTPDevice.objects.get(user=user).confirmed is False

    client.post("/profile/two-factor/", {"action": "confirm", "code": code_for(pending)})
    assert TOTPDevice.objects.get(user=user).confirmed is True


def test_without_a_device_the_password_signs_in(client, user, password):
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/profile/").status_code == 200


def test_with_a_device_the_password_alone_signs_nobody_in(client, user, password, device):
    response = client.post(
        "/accounts/login/?next=/profile/", {"username": user.username, "password": password}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/verify/")
    assert client.get("/profile/").status_code == 302  # not signed in yet

    page = client.post("/accounts/login/verify/", {"code": "000000", "next": "/profile/"})
    assert page.status_code == 200 and "not valid" in page.content.decode()
    assert client.get("/profile/").status_code == 302

    done = client.post("/accounts/login/verify/", {"code": code_for(device), "next": "/profile/"})
    assert done.status_code == 302 and done["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200


def test_the_verify_step_refuses_an_outside_redirect(client, user, password, device):
    client.post("/accounts/login/", {"username": user.username, "password": password})
    done = client.post(
        "/accounts/login/verify/", {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert done["Location"] == "/"


def test_five_wrong_codes_end_the_pending_sign_in(client, user, password, device):
    client.post("/accounts/login/", {"username": user.username, "password": password})
    for _attempt in range(4):
        assert client.post("/accounts/login/verify/", {"code": "000000"}).status_code == 200
    assert client.post("/accounts/login/verify/", {"code": "000000"})["Location"] == (
        "/accounts/login/"
    )
    # Even the right code no longer helps: the password step must be done again.
    response = client.post("/accounts/login/verify/", {"code": code_for(device)})
    assert response["Location"] == "/accounts/login/"
    assert client.get("/profile/").status_code == 302


def test_verify_without_a_password_step_goes_back_to_sign_in(client):
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"


def test_token_api_asks_for_the_code(api_client, user, password, device):
    url = "/api/v1/auth/token/"
    response = api_client.post(url, {"username": user.username, "password": password})
    assert response.status_code == 400 and "otp" in response.json()
    response = api_client.post(
        url, {"username": user.username, "password": password, "otp": "000000"}
    )
    assert response.status_code == 400 and "otp" in response.json()
    assert not Token.objects.filter(user=user).exists()
    response = api_client.post(
        url, {"username": user.username, "password": password, "otp": code_for(device)}
    )
    assert response.status_code == 200 and "token" in response.json()


def test_turning_it_off_needs_a_code(client, user, device):
    client.force_login(user)
    client.post("/profile/two-factor/", {"action": "remove", "code": "000000"})
    assert TOTPDevice.objects.filter(user=user).exists()
    client.post("/profile/two-factor/", {"action": "remove", "code": code_for(device)})
    assert not TOTPDevice.objects.filter(user=user).exists()


class TestStaffRule:
    def test_off_by_default(self, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(admin)
        assert client.get("/admin/").status_code == 200

    def test_staff_need_a_verified_second_factor(self, client, settings, password):
        settings.WEFT_STAFF_REQUIRE_2FA = True
        admin = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(admin)
        response = client.get("/admin/")
        assert response.status_code == 302
        # Django's admin sends an unauthorised user to its login, which sends staff to set up 2FA.
        assert client.get(response["Location"])["Location"] == "/profile/two-factor/"

        device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
        client.logout()
        client.post("/accounts/login/", {"username": admin.username, "password": password})
        client.post("/accounts/login/verify/", {"code": code_for(device)})
        assert client.get("/admin/").status_code == 200

    def test_anonymous_admin_visitors_use_the_one_sign_in_page(self, client, settings):
        settings.WEFT_STAFF_REQUIRE_2FA = True
        response = client.get("/admin/login/?next=/admin/")
        assert response["Location"].startswith("/accounts/login/?next=")
