"""Activity on a deal logged elsewhere: a follow-up (customers app) that names an opportunity
refreshes `Opportunity.last_activity_at`.

The customers app may not import sales (DESIGN §1), so sales listens: every customers service
that writes a follow-up calls `record_changed`, whose after-commit signal `record_committed`
reaches `follow_up_recorded` (connected in `wiring/deals.py`). The stalled-deals job still
reads the latest follow-up of its candidates too, so a follow-up written past the services
(admin bulk edits, raw imports) cannot make a worked deal look stalled.
"""

from __future__ import annotations

import logging

from django.db.models import Q

from ..models import Opportunity

log = logging.getLogger(__name__)


def opportunity_touch_from_follow_up(*, opportunity_id: int | None, occurred_at) -> int:
    """Move the deal's last activity forward to `occurred_at` (never backwards: a follow-up
    entered late for last month is not newer than today's stage move). Returns rows changed."""
    if not opportunity_id or occurred_at is None:
        return 0
    return (
        Opportunity.objects.filter(pk=opportunity_id)
        .filter(Q(last_activity_at__lt=occurred_at) | Q(last_activity_at__isnull=True))
        .update(last_activity_at=occurred_at)
    )


def follow_up_recorded(sender, instance, created=False, changes=None, **kwargs) -> None:
    """`record_committed` receiver for FollowUp: a new follow-up, or one whose opportunity or
    time changed, counts as activity on its deal."""
    changes = changes or {}
    touched = {"opportunity", "opportunity_id", "occurred_at"}
    if not (created or touched & set(changes)):
        return
    opportunity_touch_from_follow_up(
        opportunity_id=getattr(instance, "opportunity_id", None),
        occurred_at=getattr(instance, "occurred_at", None),
    )
