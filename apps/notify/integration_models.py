"""Integrations (issue 7): group robots, work-notification apps, the SMS gateway, an outbound
message log, webhook subscriptions with their delivery log, and per-user preferences.
Imported by `apps.notify.models`."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def _changed(what: str) -> None:
    """Cached lookups (robots and subscriptions per event, active apps) start again."""
    from django.core.cache import cache

    if what == "robots":
        cache.delete("weft:notify:robots")
    elif what == "webhooks":
        cache.delete("weft:notify:webhooks")
    else:
        cache.delete_many([f"weft:notify:workapp:{p}" for p in ("dingtalk", "wecom")])


class Provider(models.TextChoices):
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")


def _event_list_help():
    return _('Event names, e.g. ["customers.customer.created", "approvals.*"]; ["*"] for all.')


class Robot(models.Model):
    """A DingTalk or WeCom group robot: a webhook URL (+ DingTalk signing secret)."""

    class Format(models.TextChoices):
        MARKDOWN = "markdown", _("Markdown")
        TEXT = "text", _("Text")

    name = models.CharField(_("name"), max_length=100)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    webhook_url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk 'sign' secret (SEC…); leave empty for keyword/IP security."),
    )
    format = models.CharField(
        _("message format"), max_length=10, choices=Format.choices, default=Format.MARKDOWN
    )
    events = models.JSONField(_("events"), default=list, blank=True, help_text=_event_list_help())
    mention_recipients = models.BooleanField(
        _("mention recipients"),
        default=True,
        help_text=_("@ the notified people by their mobile number."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _changed("robots")

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _changed("robots")
        return result


class WorkApp(models.Model):
    """A DingTalk or WeCom in-house app that sends work notifications to one person, using
    the DingTalk/WeCom user id kept on the user."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices, unique=True)
    app_key = models.CharField(
        _("app key / corp id"), max_length=100, help_text=_("DingTalk AppKey, or WeCom corp id.")
    )
    app_secret = models.CharField(_("app secret"), max_length=200)
    agent_id = models.CharField(_("agent id"), max_length=50)
    api_base = models.URLField(
        _("API base URL"),
        blank=True,
        help_text=_("Leave empty for the public API; set it for a proxy or a private gateway."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("work-notification app")
        verbose_name_plural = _("work-notification apps")

    def __str__(self) -> str:
        return self.get_provider_display()

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _changed("workapps")

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _changed("workapps")
        return result

    @property
    def base(self) -> str:
        default = (
            "https://oapi.dingtalk.com"
            if self.provider == Provider.DINGTALK
            else "https://qyapi.weixin.qq.com"
        )
        return (self.api_base or default).rstrip("/")


class SmsGateway(models.Model):
    """Where SMS go. Without an active gateway the console backend logs them."""

    class Backend(models.TextChoices):
        CONSOLE = "console", _("Console / log (no real SMS)")
        HTTP = "http", _("HTTP gateway")

    class Method(models.TextChoices):
        GET = "GET", "GET"
        POST = "POST", "POST"

    name = models.CharField(_("name"), max_length=100)
    backend = models.CharField(
        _("backend"), max_length=10, choices=Backend.choices, default=Backend.CONSOLE
    )
    url_template = models.CharField(
        _("URL template"),
        max_length=500,
        blank=True,
        help_text=_(
            "Placeholders {to}, {text}, {sign}, URL-encoded, e.g. https://sms/send?to={to}"
        ),
    )
    method = models.CharField(_("method"), max_length=4, choices=Method.choices, default="POST")
    body_template = models.TextField(
        _("JSON body template"),
        blank=True,
        help_text=_(
            'POST body; placeholders are JSON-escaped: {"mobile": "{to}", "msg": "{text}"}'
        ),
    )
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    sign = models.CharField(_("signature"), max_length=50, blank=True, help_text=_("e.g. 【Weft】"))
    success_codes = models.CharField(
        _("success status codes"), max_length=50, default="200,201,202,204"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SMS gateway")
        verbose_name_plural = _("SMS gateways")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.backend == self.Backend.HTTP:
            if not self.url_template.startswith(("http://", "https://")):
                raise ValidationError({"url_template": _("Give an http(s) URL template.")})
            if not isinstance(self.headers, dict):
                raise ValidationError({"headers": _("Headers must be a JSON object.")})


class OutboundMessage(models.Model):
    """Log of one message to an outside system (robot, SMS, work notification, test)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=30)
    robot = models.ForeignKey(
        Robot, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    to = models.CharField(_("to"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    mentions = models.JSONField(_("mentions"), default=list, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.IntegerField(_("response code"), null=True, blank=True)
    response = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to or self.robot_id}: {self.status}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("secret"),
        max_length=200,
        default=_new_secret,
        help_text=_("Shared secret for the X-Weft-Signature HMAC-SHA256 header."),
    )
    events = models.JSONField(_("events"), default=list, help_text=_event_list_help())
    active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    max_failures = models.PositiveIntegerField(
        _("disable after"),
        default=10,
        help_text=_("Deliveries failed for good in a row before the subscription is disabled."),
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _changed("webhooks")

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _changed("webhooks")
        return result

    def clean(self) -> None:
        if not isinstance(self.events, list) or not all(isinstance(e, str) for e in self.events):
            raise ValidationError({"events": _("A JSON list of event names.")})
        if not self.events:
            raise ValidationError({"events": _("Subscribe to at least one event.")})

    def wants(self, event: str) -> bool:
        from .events import matches

        return self.active and matches(self.events, event)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=200, blank=True, editable=False)
    event = models.CharField(_("event"), max_length=100)
    payload = models.JSONField(_("payload"))
    idempotency_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.IntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.url}: {self.status}"


class QuietHours(models.Model):
    """No external messages to this user between start and end (local time); they wait until
    the quiet hours end. In-app notifications still arrive."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours"
    )
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("quiet hours")
        verbose_name_plural = _("quiet hours")

    def __str__(self) -> str:
        return f"{self.user}: {self.start:%H:%M}–{self.end:%H:%M}"
