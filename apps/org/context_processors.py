from django.conf import settings

from .navigation import menu_for


def shell(request) -> dict:
    """Navigation and shell facts for the base layout (no query beyond the permission cache)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"weft_company": settings.WEFT_COMPANY_NAME}
    return {
        "weft_company": settings.WEFT_COMPANY_NAME,
        "weft_menu": menu_for(user, request.path),
    }
