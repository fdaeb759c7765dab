from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import channels
from .models import Delivery

log = logging.getLogger("weft.notify")


@shared_task(bind=True, max_retries=5, default_retry_delay=30, acks_late=True)
def deliver(self, delivery_id: int) -> str:
    """Send one delivery; idempotent (a sent delivery is never sent twice), retried on failure."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
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
    raise self.retry(exc=failure, countdown=30 * 2**self.request.retries) from failure
