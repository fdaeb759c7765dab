from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudioConfig(AppConfig):
    name = "apps.studio"
    label = "studio"
    verbose_name = _("Studio")

    def ready(self) -> None:
        from apps.org.fields import register_field_source

        from .automation import actions
        from .registry import custom_field_names

        # Field policies may restrict custom fields as well as built-in ones.
        register_field_source(custom_field_names)
        actions.register_builtin()
