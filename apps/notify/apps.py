from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "apps.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from apps.org.navigation import MenuItem, register, register_home_panel
        from apps.studio.automation.signals import record_committed

        from . import automation, channels, views, webhooks
        from .events import register_event

        channels.register_builtin()
        automation.register()
        record_committed.connect(webhooks.on_record_committed, dispatch_uid="notify-webhooks")
        register_event("notify.webhook_disabled", _("A webhook subscription was disabled"))
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
