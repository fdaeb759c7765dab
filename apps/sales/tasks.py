"""Celery jobs of the sales app (Celery autodiscovers this module): one module per area."""

from .tasks_contracts import payment_remind_due  # noqa: F401
from .tasks_deals import opportunities_flag_stalled  # noqa: F401
from .tasks_leads import lead_escalate_stale  # noqa: F401
