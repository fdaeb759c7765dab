"""Checks the long-running processes make before they start serving."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """Web, ASGI and Celery processes need a real key: fail at start, not on a first request."""
    try:
        settings.SECRET_KEY  # noqa: B018 - Django refuses an empty key on access
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "Set SECRET_KEY in the environment (DEBUG=1 for development)."
        ) from None
