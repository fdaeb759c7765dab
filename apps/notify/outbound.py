"""Messages to outside systems (group robots, SMS, work notifications): queued as
`OutboundMessage` rows and sent by Celery after commit with retries; every attempt is logged."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from . import httpclient as http
from .models import OutboundMessage, Provider, Robot, WorkApp

log = logging.getLogger("weft.notify")

_ROBOTS_KEY = "weft:notify:robots"


def robots_changed() -> None:
    cache.delete(_ROBOTS_KEY)


def _robots() -> list[tuple[int, list]]:
    found = cache.get(_ROBOTS_KEY)
    if found is None:
        found = list(Robot.objects.filter(active=True).values_list("pk", "events"))
        cache.set(_ROBOTS_KEY, found, 300)
    return found


def robots_for(event: str) -> list[int]:
    from .events import matches

    return [pk for pk, events in _robots() if matches(events, event)]


@transaction.atomic
def message_queue(
    *,
    channel: str,
    body: str,
    title: str = "",
    to: str = "",
    robot: Robot | int | None = None,
    mentions=(),
    key: str | None = None,
) -> OutboundMessage:
    """Queue one message (idempotent per `key`); it is sent after the commit."""
    robot_id = robot.pk if isinstance(robot, Robot) else robot
    defaults = {
        "channel": channel,
        "body": body[:4000],
        "title": title[:200],
        "to": to[:200],
        "robot_id": robot_id,
        "mentions": [m for m in mentions if m],
    }
    if key:
        msg, created = OutboundMessage.objects.get_or_create(idempotency_key=key, defaults=defaults)
    else:
        msg, created = OutboundMessage.objects.create(**defaults), True
    if created:
        from .tasks import send_outbound

        transaction.on_commit(lambda: send_outbound.delay(msg.pk))
    return msg


def message_send(msg: OutboundMessage) -> http.Response | tuple:
    """Send now (raises on failure). Used by the task and by the admin's test buttons."""
    from . import robots, sms

    if msg.channel == "robot":
        robot = Robot.objects.get(pk=msg.robot_id)
        return robots.send_robot(robot, title=msg.title, text=msg.body, mobiles=msg.mentions)
    if msg.channel == "sms":
        return sms.backend().send(msg.to, msg.body)
    if msg.channel in (Provider.DINGTALK, Provider.WECOM):
        app = WorkApp.objects.filter(provider=msg.channel, active=True).first()
        if app is None:
            raise LookupError(f"no active {msg.channel} work-notification app")
        return robots.send_work_notice(app, user_id=msg.to, title=msg.title, text=msg.body)
    raise LookupError(f"unknown channel {msg.channel}")


def attempt(msg_id: int) -> tuple[str, Exception | None]:
    """One attempt with its log; returns (status, error)."""
    with transaction.atomic():
        msg = OutboundMessage.objects.select_for_update().filter(pk=msg_id).first()
        if msg is None or msg.status == OutboundMessage.Status.SENT:
            return "noop", None
        msg.attempts += 1
        try:
            result = message_send(msg)
        except Exception as exc:  # noqa: BLE001 - every failure is logged and retried
            log.warning("outbound %s (%s) failed: %s", msg.pk, msg.channel, exc)
            msg.error = f"{exc.__class__.__name__}: {exc}"[:2000]
            resp = getattr(exc, "response", None)
            msg.response_code = getattr(resp, "status", None)
            msg.status = OutboundMessage.Status.FAILED
            msg.save(update_fields=["attempts", "error", "status", "response_code"])
            return "failed", exc
        if isinstance(result, http.Response):
            msg.response_code, msg.response = result.status, result.body[:2000]
        elif isinstance(result, tuple):
            msg.response_code, msg.response = result[0], str(result[1])[:2000]
        msg.status = OutboundMessage.Status.SENT
        msg.sent_at = timezone.now()
        msg.error = ""
        msg.save()
        return "sent", None
