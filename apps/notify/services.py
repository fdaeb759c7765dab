"""notify.send: store in-app notifications, then fan out to external channels after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError

from . import channels
from .models import ChannelSetting, Delivery, Notification, QuietHours


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
    # One query: each user's channel switches and their choices for this very event.
    settings_by_user: dict[tuple[int, str], bool] = {}
    by_event: dict[tuple[int, str], bool] = {}
    for s in ChannelSetting.objects.filter(user__in=users, event__in=["", event[:80]]):
        (by_event if s.event else settings_by_user)[(s.user_id, s.channel)] = s.enabled
    deliveries = []
    for n, u in zip(rows, users, strict=True):
        for ch in channels.all_channels():
            if wanted is not None and ch.name not in wanted:
                continue
            on = by_event.get((u.pk, ch.name), settings_by_user.get((u.pk, ch.name), ch.default_on))
            if not on:
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
    if wanted is None or "robot" in wanted:
        _post_to_robots(event, text, url, users, key=f"n{rows[0].pk}")
    return rows


def _post_to_robots(event: str, text: str, url: str, users: list, *, key: str) -> None:
    """One message per group robot subscribed to `event`, @-mentioning the recipients."""
    from .events import label
    from .models import Robot
    from .outbound import message_queue, robots_for

    robot_ids = robots_for(event)
    if not robot_ids:
        return
    base = getattr(settings, "WEFT_BASE_URL", "")
    body = text + (f"\n\n[{_('Open')}]({base}{url})" if url else "")
    for robot in Robot.objects.filter(pk__in=robot_ids, active=True):
        mobiles = [u.mobile for u in users if u.mobile] if robot.mention_recipients else []
        message_queue(
            channel="robot",
            robot=robot,
            title=str(label(event))[:200],
            body=body,
            mentions=mobiles,
            key=f"{key}:robot{robot.pk}",
        )


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
def channel_setting_set(*, user, channel: str, enabled: bool, event: str = "") -> ChannelSetting:
    """Switch a channel for every event (`event` empty) or for one event."""
    if channels.get(channel) is None:
        raise ServiceError(_("Unknown channel."), field="channel")
    if len(event) > 80:
        raise ServiceError(_("Unknown event."), field="event")
    row, _created = ChannelSetting.objects.update_or_create(
        user=user, channel=channel, event=event, defaults={"enabled": enabled}
    )
    return row


@transaction.atomic
def quiet_hours_set(*, user, start, end, enabled: bool = True) -> QuietHours | None:
    """Set (or with start/end None, clear) the user's quiet hours."""
    if start is None or end is None:
        QuietHours.objects.filter(user=user).delete()
        return None
    if start == end:
        raise ServiceError(_("Quiet hours must end at another time than they start."), field="end")
    row, _created = QuietHours.objects.update_or_create(
        user=user, defaults={"start": start, "end": end, "enabled": enabled}
    )
    return row
