"""What signing out does beyond the session: the user's API token ends too (docs/deployment.md,
"Security"). Deactivated users are refused by the backend and by DRF's token check, and their
tokens are deleted by `user_deactivate` (apps/org/services.py)."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out


def _drop_token_on_logout(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()


def _stamp_session_on_login(sender, request, user, **kwargs) -> None:
    """Start the idle and absolute clocks (apps.org.middleware.SessionTimeoutMiddleware) as part
    of the sign-in's own session write, so the first page costs no extra write."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session["_weft_started"] = now
        session["_weft_seen"] = now


def connect() -> None:
    user_logged_in.connect(_stamp_session_on_login, dispatch_uid="weft.stamp_session_on_login")
    user_logged_out.connect(_drop_token_on_logout, dispatch_uid="weft.drop_token_on_logout")
