from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verb = models.CharField(_("event"), max_length=80)
    message = models.CharField(_("message"), max_length=500)
    url = models.CharField(_("link"), max_length=500, blank=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.BigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notify_unread_idx"),
            models.Index(fields=["target_type", "target_id"], name="notify_target_idx"),
        ]

    def __str__(self) -> str:
        return self.message


class ChannelSetting(models.Model):
    """A user's choice to receive notifications on one external channel (in-app is always on):
    for every event (`event` empty), or for one event, which overrides the channel's switch."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_settings"
    )
    channel = models.CharField(_("channel"), max_length=30)
    event = models.CharField(
        _("event"), max_length=80, blank=True, default="", help_text=_("Empty: every event.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("channel setting")
        verbose_name_plural = _("channel settings")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel", "event"], name="notify_channel_event_unique"
            ),
        ]

    def __str__(self) -> str:
        what = f"{self.channel}/{self.event}" if self.event else self.channel
        return f"{self.user}: {what} {'on' if self.enabled else 'off'}"


class Delivery(models.Model):
    """One attempt-tracked delivery of a notification over an external channel."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=30)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="notify_delivery_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.get_status_display()}"


from .integration_models import (  # noqa: E402, F401 - integration models live in their own module
    OutboundMessage,
    Provider,
    QuietHours,
    Robot,
    SmsGateway,
    WebhookDelivery,
    WebhookSubscription,
    WorkApp,
)
