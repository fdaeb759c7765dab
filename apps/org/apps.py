from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "apps.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from . import auth_hooks, navigation

        navigation.register_core_entries()
        auth_hooks.connect()
