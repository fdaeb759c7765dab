"""Outbound webhooks: signed JSON POSTs to subscribers, retried with backoff, logged, and a
subscription that keeps failing is disabled (admins are told).

Every request carries:
    Content-Type: application/json
    X-Weft-Event: customers.customer.updated
    X-Weft-Delivery: <unique id; the same on every retry: receivers de-duplicate on it>
    X-Weft-Timestamp: <unix seconds>
    X-Weft-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
A receiver recomputes the HMAC over the raw body and refuses timestamps older than 5 minutes
(replays): see `verify_signature`, which receivers may copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from . import httpclient as http
from .events import matches
from .models import WebhookDelivery, WebhookSubscription

log = logging.getLogger("weft.notify.webhooks")

TOLERANCE = 300
_SUBS_KEY = "weft:notify:webhooks"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, body: bytes, timestamp: str, signature: str, *, now: float | None = None
) -> bool:
    """What a receiver does: constant-time compare, and a timestamp within 5 minutes."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > TOLERANCE:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


def subscriptions_changed() -> None:
    cache.delete(_SUBS_KEY)


def _subscriptions() -> list[tuple[int, list]]:
    found = cache.get(_SUBS_KEY)
    if found is None:
        found = list(WebhookSubscription.objects.filter(active=True).values_list("pk", "events"))
        cache.set(_SUBS_KEY, found, 300)
    return found


@transaction.atomic
def webhook_publish(event: str, data: dict, *, key: str | None = None) -> list[WebhookDelivery]:
    """Queue `event` with `data` to every active subscription that wants it."""
    ids = [pk for pk, events in _subscriptions() if matches(events, event)]
    if not ids:
        return []
    key = key or uuid.uuid4().hex
    out = []
    for sub in WebhookSubscription.objects.filter(pk__in=ids, active=True):
        out.append(
            delivery_queue(
                url=sub.url,
                secret=sub.secret,
                event=event,
                data=data,
                subscription=sub,
                key=f"{key}:s{sub.pk}",
            )
        )
    return out


@transaction.atomic
def delivery_queue(
    *, url: str, secret: str, event: str, data: dict, key: str, subscription=None
) -> WebhookDelivery:
    payload = {"id": key, "event": event, "created_at": timezone.now().isoformat(), "data": data}
    delivery, created = WebhookDelivery.objects.get_or_create(
        idempotency_key=key[:120],
        defaults={
            "subscription": subscription,
            "url": url,
            "secret": secret,
            "event": event,
            "payload": payload,
        },
    )
    if created:
        from .tasks import deliver_webhook

        transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))
    return delivery


def attempt(delivery_id: int, *, final: bool) -> tuple[str, str]:
    """POST once; log the response. Returns (status, error)."""
    with transaction.atomic():
        d = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if d is None or d.status == WebhookDelivery.Status.SENT:
            return "noop", ""
        if d.subscription is not None and not d.subscription.active:
            d.status = WebhookDelivery.Status.FAILED
            d.error = "subscription disabled"
            d.save(update_fields=["status", "error"])
            return "failed", ""
        body = json.dumps(d.payload, ensure_ascii=False, sort_keys=True).encode()
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Weft-Webhooks/1",
            "X-Weft-Event": d.event,
            "X-Weft-Delivery": d.idempotency_key,
            "X-Weft-Timestamp": str(ts),
            "X-Weft-Signature": sign(
                d.subscription.secret if d.subscription else d.secret, ts, body
            ),
        }
        d.attempts += 1
        d.last_attempt_at = timezone.now()
        error = ""
        try:
            resp = http.request("POST", d.url, body=body, headers=headers)
            d.response_code, d.response_body = resp.status, resp.body[:2000]
            if not resp.ok:
                error = f"HTTP {resp.status}"
        except http.HttpError as exc:
            d.response_code, d.response_body = None, ""
            error = str(exc)[:2000]
        d.error = error
        if not error:
            d.status = WebhookDelivery.Status.SENT
            d.sent_at = timezone.now()
        elif final:
            d.status = WebhookDelivery.Status.FAILED
        d.save()
        sub = d.subscription
        if sub is not None:
            if not error:
                WebhookSubscription.objects.filter(pk=sub.pk).update(consecutive_failures=0)
            elif final:
                _count_failure(sub)
        return d.status, error


def _count_failure(sub: WebhookSubscription) -> None:
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    sub.refresh_from_db(fields=["consecutive_failures", "max_failures", "active"])
    if sub.active and sub.consecutive_failures >= sub.max_failures:
        subscription_disable(
            subscription=sub,
            reason=_("%(n)d deliveries in a row failed.") % {"n": sub.consecutive_failures},
        )


@transaction.atomic
def subscription_disable(*, subscription: WebhookSubscription, reason: str) -> None:
    from apps import notify

    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    subscriptions_changed()
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True)
    notify.send(
        list(admins),
        "notify.webhook_disabled",
        subscription,
        message=_("Webhook “%(name)s” was disabled: %(reason)s")
        % {"name": subscription.name, "reason": reason},
        url=f"/admin/notify/webhooksubscription/{subscription.pk}/change/",
    )


@transaction.atomic
def subscription_enable(*, subscription: WebhookSubscription) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
    )
    subscriptions_changed()


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Admin: send a delivery again (same id, so receivers can de-duplicate)."""
    from .tasks import deliver_webhook

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, error=""
    )
    transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))
    return delivery


# --- record events from automation (studio) -------------------------------------------------
def on_record_committed(sender, instance, spec, created, changes, by=None, **kwargs):
    event = f"{spec.label}.{'created' if created else 'updated'}"
    if not any(matches(events, event) for _pk, events in _subscriptions()):
        return
    data = {
        "model": spec.label,
        "record": spec.snapshot(instance),
        "changes": changes,
        "actor": getattr(by, "pk", None),
    }
    with transaction.atomic():
        webhook_publish(event, data)
