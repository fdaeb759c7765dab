"""Static-file finder that leaves out the bundled UI of apps we use headless.

viewflow ships its own Material front end (whose CSS points at fonts it doesn't ship, which
breaks `collectstatic` with hashed file names). Weft uses viewflow's engine only and its own
templates, so its static files are not collected.
"""

from django.conf import settings
from django.contrib.staticfiles.finders import AppDirectoriesFinder


class WeftAppDirectoriesFinder(AppDirectoriesFinder):
    def __init__(self, app_names=None, *args, **kwargs):
        super().__init__(app_names, *args, **kwargs)
        ignored = set(getattr(settings, "WEFT_STATIC_IGNORE_APPS", []))
        self.apps = [a for a in self.apps if a not in ignored]
        for name in ignored:
            self.storages.pop(name, None)
