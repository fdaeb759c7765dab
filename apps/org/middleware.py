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
