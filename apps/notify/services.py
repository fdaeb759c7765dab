"""notify.send: store in-app notifications, then fan out to external channels after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError

from . import channels
from .models import ChannelSetting, Delivery, Notification


def _users(recipients) -> list:
    if recipients is None:
        return []
    if isinstance(recipients, models.Model):
        recipients = [recipients]
    seen, out = set(), []
    for user in recipients:
        if user is not None and user.pk not in seen and user.is_active:
            seen.add(user.pk)
            out.append(user)
    return out


@transaction.atomic
def notify_send(
    *,
    recipients,
    event: str,
    obj: models.Model | None = None,
    message: str = "",
    url: str = "",
    actor=None,
    channels_only: Iterable[str] | None = None,
    **context,
) -> list[Notification]:
    """Notify each recipient in-app and on the channels they (and the admin) enabled.

    `message` is the text shown; without one, `str(obj)` is used. External delivery runs in
    Celery after the surrounding transaction commits, so a rolled-back action notifies nobody
    and a failing channel never undoes the action.
    """
    users = [
        u
        for u in _users(recipients)
        if actor is None or u.pk != actor.pk or context.get("notify_actor")
    ]
    if not users:
        return []
    if not url and obj is not None and hasattr(obj, "get_absolute_url"):
        url = obj.get_absolute_url()
    text = (message or (str(obj) if obj is not None else event))[:500]
    ct = ContentType.objects.get_for_model(obj) if obj is not None else None
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=u,
                actor=actor,
                verb=event[:80],
                message=text,
                url=url[:500],
                target_type=ct,
                target_id=getattr(obj, "pk", None),
            )
            for u in users
        ]
    )
    wanted = set(channels_only) if channels_only is not None else None
    settings_by_user: dict[tuple[int, str], bool] = {
        (s.user_id, s.channel): s.enabled for s in ChannelSetting.objects.filter(user__in=users)
    }
    deliveries = []
    for n, u in zip(rows, users, strict=True):
        for ch in channels.all_channels():
            if wanted is not None and ch.name not in wanted:
                continue
            if not settings_by_user.get((u.pk, ch.name), ch.default_on):
                continue
            if not ch.available_for(u):
                continue
            deliveries.append(Delivery(notification=n, channel=ch.name))
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in deliveries if d.pk] or list(
            Delivery.objects.filter(notification__in=rows).values_list("pk", flat=True)
        )
        from .tasks import deliver

        for pk in ids:
            transaction.on_commit(lambda pk=pk: deliver.delay(pk))
    return rows


@transaction.atomic
def notification_mark_read(*, notification: Notification, by) -> Notification:
    if notification.recipient_id != by.pk:
        raise ServiceError(_("This notification is not yours."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, by) -> int:
    return Notification.objects.filter(recipient=by, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def channel_setting_set(*, user, channel: str, enabled: bool) -> ChannelSetting:
    if channels.get(channel) is None:
        raise ServiceError(_("Unknown channel."), field="channel")
    row, _created = ChannelSetting.objects.update_or_create(
        user=user, channel=channel, defaults={"enabled": enabled}
    )
    return row
