from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from .builder.registry import register_builtin_sources
        from .navigation import register_pages

        register_builtin_sources()
        register_pages()
