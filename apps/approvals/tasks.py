"""Celery tasks of approvals."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def approval_remind_overdue() -> int:
    """Remind approvers of overdue tasks and alert the admins (idempotent; beat runs it)."""
    from .services import approval_remind_overdue as remind

    return remind()
