"""Chainable filters of the customers app (`Customer.objects.visible_to(user).in_pool()`)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from apps.org.scopes import ScopedQuerySet


class CustomerQuerySet(ScopedQuerySet):
    def in_pool(self):
        """Customers without an owner: the public pool (公海)."""
        return self.filter(owner__isnull=True)

    def owned(self):
        return self.filter(owner__isnull=False)

    def owned_by(self, user):
        return self.filter(owner=user)

    def with_tag(self, *names: str):
        """Customers carrying any of the tags `names` (a subquery: no duplicate rows)."""
        from .models import Customer

        through = Customer.tags.through
        return self.filter(pk__in=through.objects.filter(tag__name__in=names).values("customer_id"))

    def follow_up_due(self, now=None):
        return self.filter(next_follow_up_at__lte=now or timezone.now(), owner__isnull=False)


class ContactQuerySet(ScopedQuerySet):
    def primary(self):
        return self.filter(is_primary=True)


class FollowUpQuerySet(ScopedQuerySet):
    def due(self, now=None):
        """Follow-ups whose next date has come and whose owner was not reminded yet."""
        return self.filter(next_follow_up_at__lte=now or timezone.now(), reminded_at__isnull=True)


class TicketQuerySet(ScopedQuerySet):
    def open(self):
        from .models import Ticket

        return self.exclude(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED])

    def overdue(self, now=None):
        return self.open().filter(sla_due_at__lt=now or timezone.now())

    def for_customer(self, customer):
        return self.filter(customer=customer)

    def not_closed(self):
        from .models import Ticket

        return self.filter(~Q(status=Ticket.Status.CLOSED))
