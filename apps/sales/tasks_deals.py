"""Celery jobs of the deals area, scheduled by a django_celery_beat row (migration
0002_deals_stalled_schedule). Imported by `apps.sales.wiring.deals`, so the worker knows the
task as soon as the app is ready."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def opportunities_flag_stalled() -> int:
    """Daily: warn owners of open deals with no activity / no stage change for N days."""
    from .services.deals import opportunities_flag_stalled as run

    return run()
