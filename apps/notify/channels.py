"""External channels. Each one: a name, a label, `available_for(user)` and `deliver(notification)`.

Built in: email (HTML + text), DingTalk and WeCom work notifications (to the user's DingTalk /
WeCom user id, through the admin's work-notification app) and SMS (to the user's mobile, through
the SMS backend). Group robots are not per-user channels: `notify_send` posts one message per
robot whose events match, mentioning the recipients. A channel whose `deliver` raises is retried
by the Celery task and logged in `Delivery`; it never breaks the business action that notified.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
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


def _link(notification) -> str:
    base = getattr(settings, "WEFT_BASE_URL", "")
    return f"{base}{notification.url}" if notification.url else ""


class EmailChannel(Channel):
    def available_for(self, user) -> bool:
        return bool(user.email)

    def deliver(self, notification) -> None:
        user = notification.recipient
        context = {
            "notification": notification,
            "link": _link(notification),
            "company": settings.WEFT_COMPANY_NAME,
        }
        with translation.override(user.language or settings.LANGUAGE_CODE):
            text = render_to_string("notify/email.txt", context)
            html = render_to_string("notify/email.html", context)
        mail = EmailMultiAlternatives(
            subject=f"[{settings.WEFT_COMPANY_NAME}] {notification.message[:120]}",
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
        mail.attach_alternative(html, "text/html")
        mail.send()


def _work_app_active(provider: str) -> bool:
    key = f"weft:notify:workapp:{provider}"
    found = cache.get(key)
    if found is None:
        from .models import WorkApp

        found = WorkApp.objects.filter(provider=provider, active=True).exists()
        cache.set(key, found, 300)
    return found


class WorkNoticeChannel(Channel):
    """DingTalk / WeCom work notification to one person (user id kept on the user)."""

    id_field: str = ""

    def available_for(self, user) -> bool:
        return bool(getattr(user, self.id_field, "")) and _work_app_active(self.name)

    def deliver(self, notification) -> None:
        from .models import WorkApp
        from .robots import send_work_notice

        app = WorkApp.objects.get(provider=self.name, active=True)
        link = _link(notification)
        text = notification.message + (f"\n\n[{_('Open')}]({link})" if link else "")
        send_work_notice(
            app,
            user_id=getattr(notification.recipient, self.id_field),
            title=notification.message[:60],
            text=text,
        )


class SmsChannel(Channel):
    def available_for(self, user) -> bool:
        return bool(user.mobile)

    def deliver(self, notification) -> None:
        from .sms import backend

        backend().send(notification.recipient.mobile, notification.message[:300])


def register(channel: Channel) -> None:
    _channels[channel.name] = channel


def get(name: str) -> Channel | None:
    return _channels.get(name)


def all_channels() -> list[Channel]:
    return list(_channels.values())


def register_builtin() -> None:
    register(EmailChannel(name="email", label=_("Email"), default_on=True))
    dingtalk = WorkNoticeChannel(name="dingtalk", label=_("DingTalk"), default_on=True)
    dingtalk.id_field = "dingtalk_userid"
    register(dingtalk)
    wecom = WorkNoticeChannel(name="wecom", label=_("WeCom"), default_on=True)
    wecom.id_field = "wecom_userid"
    register(wecom)
    register(SmsChannel(name="sms", label=_("SMS"), default_on=False))
