"""Celery tasks of the docs app."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def announcements_notify_due() -> int:
    """Notify the audiences of scheduled announcements that just started (beat, every 5 min)."""
    from .services import announcements_notify_due as notify_due

    return notify_due()
