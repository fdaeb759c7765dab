"""Optional two-factor sign-in with a TOTP app (django-otp).

Flow: the password form authenticates; a user with a confirmed TOTP device is not signed in yet —
their id waits in the session (`_weft_2fa_pending`, five minutes) until `/accounts/login/verify/`
gets a valid code. django-otp throttles wrong codes per device; five wrong codes also end the
pending sign-in. The token API asks for the code as `otp` (apps/org/api.py).
"""

from __future__ import annotations

import time

from django.contrib.auth import login
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User

PENDING_KEY = "_weft_2fa_pending"
PENDING_SECONDS = 300
MAX_WRONG_CODES = 5


def confirmed_device(user) -> TOTPDevice | None:
    if not user or not user.pk:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify_code(user, code: str) -> TOTPDevice | None:
    """The user's confirmed device when `code` is valid for it (throttled by django-otp)."""
    device = confirmed_device(user)
    code = (code or "").strip().replace(" ", "")
    if device is None or not code.isdigit():
        return None
    return device if device.verify_token(code) else None


def begin_pending_login(request, user) -> None:
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "at": int(time.time()),
        "wrong": 0,
    }


def pending_user(request) -> User | None:
    data = request.session.get(PENDING_KEY)
    if not data or int(time.time()) - data["at"] > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=data["user"], is_active=True).first()
    if user is not None:
        user.backend = data["backend"]
    return user


def finish_login(request, user, device) -> None:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=user.backend)
    otp_login(request, device)


def record_wrong_code(request) -> bool:
    """Count a wrong code; True when the pending sign-in is used up."""
    data = request.session.get(PENDING_KEY)
    if not data:
        return True
    data["wrong"] += 1
    if data["wrong"] >= MAX_WRONG_CODES:
        request.session.pop(PENDING_KEY, None)
        return True
    request.session[PENDING_KEY] = data
    return False


@transaction.atomic
def device_start(*, user) -> TOTPDevice:
    """A new, unconfirmed device (replacing an unconfirmed one) for the set-up page."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def pending_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


@transaction.atomic
def device_confirm(*, request, device: TOTPDevice, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or not device.verify_token(code):
        return False
    TOTPDevice.objects.filter(user=device.user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)  # this session already proved the second factor
    return True


@transaction.atomic
def device_remove(*, user, code: str) -> bool:
    if verify_code(user, code) is None:
        return False
    TOTPDevice.objects.filter(user=user).delete()
    return True


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG (drawn here: no image service, works offline)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")
