from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import channels
from .models import Delivery, QuietHours

log = logging.getLogger("weft.notify")

BACKOFF = (30, 120, 600, 1800, 3600, 7200)  # seconds between attempts


def _backoff(retries: int) -> int:
    return BACKOFF[min(retries, len(BACKOFF) - 1)]


def quiet_until(user_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the user's quiet hours end, if they are in them now (local time); else None."""
    q = QuietHours.objects.filter(user_id=user_id, enabled=True).first()
    if q is None or q.start == q.end:
        return None
    local = timezone.localtime(now or timezone.now())
    t = local.time().replace(tzinfo=None)
    inside = (q.start <= t < q.end) if q.start < q.end else (t >= q.start or t < q.end)
    if not inside:
        return None
    end = local.replace(hour=q.end.hour, minute=q.end.minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end


@shared_task(bind=True, max_retries=5, default_retry_delay=30, acks_late=True)
def deliver(self, delivery_id: int) -> str:
    """Send one delivery; idempotent (a sent delivery is never sent twice), retried on failure.
    During the recipient's quiet hours it waits (re-queued for the end of them)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (Delivery.Status.SENT, Delivery.Status.SKIPPED):
            return "noop"
        channel = channels.get(delivery.channel)
        if channel is None:
            delivery.status = Delivery.Status.SKIPPED
            delivery.error = "channel not registered"
            delivery.save(update_fields=["status", "error"])
            return "skipped"
        wait = quiet_until(delivery.notification.recipient_id)
        if wait is not None and not self.request.is_eager:
            deliver.apply_async((delivery_id,), eta=wait)
            return "deferred"
        if wait is not None:
            # In-process mode has no queue to wait in: keep it for the next sweep of the day.
            delivery.error = f"quiet hours until {wait:%H:%M}"
            delivery.save(update_fields=["error"])
            return "deferred"
        delivery.attempts += 1
        try:
            channel.deliver(delivery.notification)
        except Exception as exc:  # noqa: BLE001 - any channel failure is logged and retried
            log.warning("delivery %s over %s failed: %s", delivery_id, delivery.channel, exc)
            delivery.error = str(exc)[:2000]
            final = self.request.retries >= self.max_retries or self.request.is_eager
            delivery.status = Delivery.Status.FAILED if final else Delivery.Status.PENDING
            delivery.save(update_fields=["attempts", "error", "status"])
            if final:
                return "failed"
            failure = exc
        else:
            delivery.status = Delivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.error = ""
            delivery.save(update_fields=["attempts", "status", "sent_at", "error"])
            return "sent"
    # Retry outside the atomic block: raising inside it would roll back the attempt's log.
    raise self.retry(exc=failure, countdown=_backoff(self.request.retries)) from failure


@shared_task(bind=True, max_retries=5, acks_late=True)
def send_outbound(self, message_id: int) -> str:
    """Send a robot / SMS / work-notification message; retried with backoff."""
    from .outbound import attempt

    status, error = attempt(message_id)
    if status == "failed" and not self.request.is_eager and self.request.retries < self.max_retries:
        raise self.retry(exc=error, countdown=_backoff(self.request.retries))
    return status


@shared_task(bind=True, max_retries=6, acks_late=True)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one webhook delivery; retried with backoff (30 s … 2 h); the final failure counts
    towards disabling the subscription."""
    from .webhooks import attempt

    final = self.request.is_eager or self.request.retries >= self.max_retries
    status, error = attempt(delivery_id, final=final)
    if error and not final:
        raise self.retry(countdown=_backoff(self.request.retries))
    return status


@shared_task(acks_late=True)
def release_quiet_deliveries() -> int:
    """Beat, every 15 minutes: re-queue pending deliveries held back by quiet hours (needed in
    in-process mode, harmless otherwise: a sent delivery is never sent twice)."""
    ids = list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, error__startswith="quiet hours"
        ).values_list("pk", flat=True)[:2000]
    )
    for pk in ids:
        deliver.delay(pk)
    return len(ids)
