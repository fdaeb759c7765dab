"""Celery jobs of the tasks app, scheduled by a django_celery_beat row (migration 0002_tasks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def tasks_remind_due() -> dict:
    """Every 5 minutes: reminder times reached, tasks due soon, tasks overdue (idempotent)."""
    from .services import tasks_remind_due as run

    return run()
