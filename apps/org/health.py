"""Health checks for load balancers and monitoring (docs/deployment.md, "Monitoring").

`/healthz/` answers for this web process: database and cache reachable. `/healthz/full/` adds the
background processes: the worker is alive when it ran the heartbeat job recently, beat is alive
when it sent that job recently (django-celery-beat stamps `last_run_at` on every send). Both
answer 200 when healthy and 503 otherwise, with a small JSON body and no secrets.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

HEARTBEAT_TASK_NAME = "weft: heartbeat"
STALE_AFTER = dt.timedelta(minutes=3)  # the job runs every minute


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        log.warning("health: database check failed: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def check_cache() -> dict:
    key = f"weft:health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        log.warning("health: cache check failed: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": ok}


def _age(at, now) -> dict:
    if at is None:
        return {"ok": False, "last_seen": None}
    age = now - at
    return {
        "ok": age <= STALE_AFTER,
        "last_seen": at.isoformat(),
        "age_s": int(age.total_seconds()),
    }


def check_background() -> dict:
    """Worker and beat freshness; in embedded mode (no broker) jobs run in-process."""
    if not settings.CELERY_BROKER_URL:
        return {"worker": {"ok": True, "mode": "in-process"}, "beat": {"ok": True, "mode": "none"}}
    from django_celery_beat.models import PeriodicTask

    from .models import Heartbeat

    now = timezone.now()
    worker = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    beat = (
        PeriodicTask.objects.filter(name=HEARTBEAT_TASK_NAME)
        .values_list("last_run_at", flat=True)
        .first()
    )
    return {"worker": _age(worker, now), "beat": _age(beat, now)}


def _answer(checks: dict) -> JsonResponse:
    ok = all(c.get("ok") for c in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )


@never_cache
@require_GET
def healthz(request):
    return _answer({"database": check_database(), "cache": check_cache()})


@never_cache
@require_GET
def healthz_full(request):
    checks = {"database": check_database(), "cache": check_cache()}
    if checks["database"]["ok"]:
        checks.update(check_background())
    return _answer(checks)
