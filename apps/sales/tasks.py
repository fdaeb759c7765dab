"""Celery jobs of the sales app (Celery autodiscovers this module): one module per area."""

from .tasks_leads import lead_escalate_stale  # noqa: F401
