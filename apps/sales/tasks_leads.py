"""Celery jobs of the leads area, scheduled by a django_celery_beat row (migration
0002_leads_escalation_schedule). Idempotent: an escalated lead carries `escalated_at`."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def lead_escalate_stale() -> int:
    """Hourly: tell managers about leads nobody contacted within the company's window."""
    from .services.leads import lead_escalate_stale as run

    return run()
