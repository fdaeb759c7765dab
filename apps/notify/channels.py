"""External channels. Each one: a name, a label, `enabled_for(user)` and `deliver(notification)`.

Email ships now; DingTalk, WeCom, SMS and webhooks register here the same way (studio/integrations
issue). A channel whose `deliver` raises is retried by the Celery task and logged in `Delivery`;
it never breaks the business action that notified.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext_lazy as _

_channels: dict[str, Channel] = {}


@dataclass
class Channel:
    name: str
    label: object  # a lazy translation string
    default_on: bool = True

    def available_for(self, user) -> bool:
        return True

    def deliver(self, notification) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class EmailChannel(Channel):
    def available_for(self, user) -> bool:
        return bool(user.email)

    def deliver(self, notification) -> None:
        url = notification.url
        base = getattr(settings, "WEFT_BASE_URL", "")
        body = notification.message + (f"\n\n{base}{url}" if url else "")
        send_mail(
            subject=f"[{settings.WEFT_COMPANY_NAME}] {notification.message[:120]}",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient.email],
        )


def register(channel: Channel) -> None:
    _channels[channel.name] = channel


def get(name: str) -> Channel | None:
    return _channels.get(name)


def all_channels() -> list[Channel]:
    return list(_channels.values())


def register_builtin() -> None:
    register(EmailChannel(name="email", label=_("Email"), default_on=True))
