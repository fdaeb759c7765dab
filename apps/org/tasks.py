"""Background jobs of the foundation."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="weft.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Run by beat every minute on a worker: proves both are alive (see apps/org/health.py)."""
    from .models import Heartbeat

    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})
