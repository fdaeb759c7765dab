"""Celery jobs of the customers app, scheduled by django_celery_beat rows (migration 0002).

Each is idempotent: a second run finds nothing left to do (markers on the rows: a warned
customer's `recycle_warned_at`, a follow-up's `reminded_at`, a ticket's `is_overdue`).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def pool_recycle() -> dict:
    """Daily: return idle customers to the public pool, warn owners beforehand."""
    from .services import pool_recycle as run

    return run()


@shared_task(acks_late=True)
def follow_up_remind_due() -> int:
    """Every 15 minutes: remind owners of follow-ups that are due."""
    from .services import follow_up_remind_due as run

    return run()


@shared_task(acks_late=True)
def ticket_flag_overdue() -> int:
    """Every 15 minutes: flag tickets past their SLA and notify their assignees."""
    from .services import ticket_flag_overdue as run

    return run()
