from django.utils import translation


class UserLanguageMiddleware:
    """Use the signed-in user's preferred language when they chose one.

    LocaleMiddleware has already picked a language from the cookie/header; a saved preference
    on the user wins, so the UI follows the person from device to device.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Sign a browser session out after idle time and after an absolute lifetime.

    `SESSION_IDLE_TIMEOUT` (seconds without a request) and `SESSION_ABSOLUTE_TIMEOUT` (seconds since
    sign-in); 0 switches either off. The last-seen stamp is written at most once a minute, so an
    active user costs no extra session write per request. API calls with a token carry no session
    and are not affected (tokens end at logout and deactivation, see apps/org/auth_hooks.py).
    """

    TOUCH_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            self._check(request)
        return self.get_response(request)

    def _check(self, request) -> None:
        import time

        from django.conf import settings
        from django.contrib.auth import logout

        now = int(time.time())
        session = request.session
        idle = getattr(settings, "SESSION_IDLE_TIMEOUT", 0)
        absolute = getattr(settings, "SESSION_ABSOLUTE_TIMEOUT", 0)
        started = session.setdefault("_weft_started", now)
        seen = session.get("_weft_seen", now)
        if (idle and now - seen > idle) or (absolute and now - started > absolute):
            logout(request)  # flushes the session; the view then sees an anonymous user
            return
        if now - seen >= self.TOUCH_EVERY or "_weft_seen" not in session:
            session["_weft_seen"] = now
