from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "apps.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from apps.org.navigation import MenuItem, register, register_home_panel

        from . import channels, views

        channels.register_builtin()
        register(
            MenuItem(
                group="main",
                key="notifications",
                label=_("Notifications"),
                url_name="notify:list",
                icon="bell",
                order=20,
            )
        )
        register_home_panel("notify-unread", views.unread_home_panel)
