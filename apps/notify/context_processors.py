from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def bell(request) -> dict:
    """Unread count for the bell; the COUNT runs once, and only if the page shows the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notify_unread": SimpleLazyObject(lambda: unread_count(user))}
