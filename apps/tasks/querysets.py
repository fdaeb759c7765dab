"""Chainable filters of tasks (`Task.objects.visible_to(user).open().due_before(t)`)."""

from __future__ import annotations

from django.utils import timezone

from apps.org.scopes import ScopedQuerySet

OPEN_STATUSES = ("todo", "doing")


class TaskQuerySet(ScopedQuerySet):
    def open(self):
        """Not done and not cancelled."""
        return self.filter(status__in=OPEN_STATUSES)

    def top_level(self):
        return self.filter(parent__isnull=True)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def due_before(self, moment):
        return self.open().filter(due_at__lt=moment)

    def of_tree(self, root_id: int):
        """The whole tree a task belongs to: its root and every task below the root."""
        from django.db.models import Q

        return self.filter(Q(pk=root_id) | Q(root_id=root_id))

    def visible_to_narrow(self, user, action: str = "view"):
        """`visible_to` for a queryset already narrowed by an index (one customer's tasks):
        participants as an SQL subquery instead of ids read beforehand (no extra query)."""
        from .models.tasks import PARTICIPANTS_AS_SUBQUERY

        token = PARTICIPANTS_AS_SUBQUERY.set(True)
        try:
            return self.visible_to(user, action)
        finally:
            PARTICIPANTS_AS_SUBQUERY.reset(token)
