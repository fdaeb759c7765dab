from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from . import search

        search.register_builtin()

        # --- pages (issue 3 pages work): sidebar entries and the home panel ---------------
        from .views.home import register_pages

        register_pages()

        # --- automation (issue 7): models open to rules, notification events -------------
        from . import automation

        automation.register()

        from . import todos

        todos.register()  # the to-do inbox (apps.tasks): follow-ups due, my tickets
