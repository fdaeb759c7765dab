"""Scheduled jobs: pool recycling (with warnings), follow-up reminders, overdue tickets.

Time is frozen by passing `now=` into the job functions; they are idempotent, so every test
also runs the job a second time and expects nothing new.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.customers import services, tasks
from apps.customers.models import Customer, CustomerEvent, FollowUp, PoolRule, Ticket
from apps.notify.models import Notification

from .factories import CustomerFactory, FollowUpFactory, PoolRuleFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 30, 2, 30, tzinfo=dt.UTC)


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def notes(user, verb) -> int:
    return Notification.objects.filter(recipient=user, verb=verb).count()


@pytest.fixture
def rules(db):
    PoolRule.objects.all().delete()
    PoolRuleFactory(level="A", days=90, warn_days=7)
    PoolRuleFactory(level="C", days=30, warn_days=3)


def make(org, level, *, contacted=None, owned=None, created=None, owner=None):
    c = CustomerFactory(owner=owner or org.rep, level=level)
    Customer.objects.filter(pk=c.pk).update(
        last_contacted_at=contacted,
        owned_since=owned if owned is not None else days_ago(400),
        created_at=created or days_ago(400),
    )
    return c


def test_recycling_by_level_and_last_activity(org, rules):
    idle_c = make(org, "C", contacted=days_ago(30))  # exactly N days: goes
    fresh_c = make(org, "C", contacted=days_ago(29.9))  # within warning window, stays
    idle_a = make(org, "A", contacted=days_ago(60))  # A allows 90 days: stays
    gone_a = make(org, "A", contacted=days_ago(91))
    just_claimed = make(org, "C", contacted=days_ago(100), owned=days_ago(2))  # clock restarted
    never_contacted = make(org, "C", contacted=None, owned=days_ago(31))
    no_rule = make(org, "D", contacted=days_ago(999))  # D has no rule here
    pooled = CustomerFactory(owner=None, level="C")

    result = services.pool_recycle(now=NOW)

    assert result["recycled"] == 3
    for c in (idle_c, gone_a, never_contacted):
        c.refresh_from_db()
        assert (c.owner, c.previous_owner, c.pool_entered_at) == (None, org.rep, NOW)
        assert "30" in c.pool_reason or "90" in c.pool_reason
        assert CustomerEvent.objects.filter(customer=c, kind="recycled").count() == 1
    for c in (fresh_c, idle_a, just_claimed, no_rule):
        c.refresh_from_db()
        assert c.owner == org.rep
    pooled.refresh_from_db()
    assert pooled.previous_owner is None
    assert notes(org.rep, "customers.recycled") == 3

    again = services.pool_recycle(now=NOW)
    assert again["recycled"] == 0
    assert notes(org.rep, "customers.recycled") == 3


def test_owners_are_warned_once_before_recycling(org, rules):
    warn = make(org, "C", contacted=days_ago(28))  # 30 - 3 = 27 days: inside the window
    early = make(org, "C", contacted=days_ago(26))  # not yet
    make(org, "A", contacted=days_ago(84))  # 90 - 7 = 83: warned too

    assert services.pool_recycle(now=NOW) == {"warned": 2, "recycled": 0}
    warn.refresh_from_db()
    assert warn.recycle_warned_at == NOW and warn.owner == org.rep
    early.refresh_from_db()
    assert early.recycle_warned_at is None
    assert notes(org.rep, "customers.recycle_warning") == 2
    assert CustomerEvent.objects.filter(kind="recycle_warned").count() == 2

    # Next day: the warned ones are not warned again; the one that entered the window is.
    assert services.pool_recycle(now=NOW + dt.timedelta(days=1))["warned"] == 1
    assert notes(org.rep, "customers.recycle_warning") == 3
    assert CustomerEvent.objects.filter(customer=warn, kind="recycle_warned").count() == 1
    assert services.pool_recycle(now=NOW + dt.timedelta(days=1))["warned"] == 0


def test_a_follow_up_resets_the_warning_and_the_clock(org, rules):
    c = make(org, "C", contacted=days_ago(28))
    services.pool_recycle(now=NOW)
    services.follow_up_log(customer=c, by=org.rep, data={"content": "回访", "occurred_at": NOW})
    c.refresh_from_db()
    assert c.recycle_warned_at is None
    result = services.pool_recycle(now=NOW + dt.timedelta(days=10))
    assert result == {"warned": 0, "recycled": 0}
    c.refresh_from_db()
    assert c.owner == org.rep


def test_many_recycled_customers_give_one_summary(org, rules):
    for _ in range(7):
        make(org, "C", contacted=days_ago(40))
    assert services.pool_recycle(now=NOW)["recycled"] == 7
    assert notes(org.rep, "customers.recycled") == 1  # more than five: one summary
    make(org, "C", contacted=days_ago(40))
    make(org, "C", contacted=days_ago(40))
    assert services.pool_recycle(now=NOW)["recycled"] == 2
    assert notes(org.rep, "customers.recycled") == 3  # a few: one notice each


def test_inactive_rules_do_nothing(org, rules):
    PoolRule.objects.update(active=False)
    make(org, "C", contacted=days_ago(400))
    assert services.pool_recycle(now=NOW) == {"warned": 0, "recycled": 0}


# --- follow-up reminders -----------------------------------------------------------------------


def test_due_follow_ups_remind_the_owner_once(org):
    c = CustomerFactory(owner=org.rep_peer)
    due = FollowUpFactory(customer=c, owner=org.rep, next_follow_up_at=NOW - dt.timedelta(hours=1))
    later = FollowUpFactory(
        customer=c, owner=org.rep, next_follow_up_at=NOW + dt.timedelta(hours=1)
    )
    pooled = FollowUpFactory(
        customer=CustomerFactory(owner=None), owner=org.rep, next_follow_up_at=days_ago(1)
    )
    FollowUpFactory(customer=c, owner=org.rep)  # no next date

    assert services.follow_up_remind_due(now=NOW) == 2
    # The customer's owner is reminded (someone else logged it); a pool customer's author is.
    assert notes(org.rep_peer, "customers.follow_up_due") == 1
    assert notes(org.rep, "customers.follow_up_due") == 1
    due.refresh_from_db()
    pooled.refresh_from_db()
    later.refresh_from_db()
    assert due.reminded_at == NOW and pooled.reminded_at == NOW and later.reminded_at is None

    assert services.follow_up_remind_due(now=NOW) == 0
    assert services.follow_up_remind_due(now=NOW + dt.timedelta(hours=2)) == 1
    assert (
        FollowUp.objects.filter(reminded_at__isnull=True, next_follow_up_at__isnull=False).count()
        == 0
    )


def test_reminders_go_in_batches(org):
    c = CustomerFactory(owner=org.rep)
    for _ in range(5):
        FollowUpFactory(customer=c, owner=org.rep, next_follow_up_at=days_ago(1))
    assert services.follow_up_remind_due(now=NOW, batch=2) == 5


# --- overdue tickets ---------------------------------------------------------------------------


def test_overdue_tickets_are_flagged_and_notified_once(org):
    c = CustomerFactory(owner=org.rep)
    late = services.ticket_create(customer=c, by=org.service, data={"title": "a"}, assignee=org.rep)
    unassigned = services.ticket_create(customer=c, by=org.service, data={"title": "b"})
    done = services.ticket_create(customer=c, by=org.service, data={"title": "c"}, assignee=org.rep)
    services.ticket_resolve(ticket=done, by=org.rep, resolution="ok")
    Ticket.objects.update(sla_due_at=NOW - dt.timedelta(minutes=1))
    on_time = services.ticket_create(customer=c, by=org.service, data={"title": "d"})
    Ticket.objects.filter(pk=on_time.pk).update(sla_due_at=NOW + dt.timedelta(hours=1))

    assert services.ticket_flag_overdue(now=NOW) == 2
    late.refresh_from_db()
    unassigned.refresh_from_db()
    assert late.is_overdue and late.overdue_notified_at == NOW and unassigned.is_overdue
    assert notes(org.rep, "customers.ticket_overdue") == 1
    assert notes(org.service, "customers.ticket_overdue") == 1  # unassigned: whoever opened it
    assert not Ticket.objects.get(pk=done.pk).is_overdue
    assert services.ticket_flag_overdue(now=NOW) == 0

    # A reopened ticket gets a new SLA and can become overdue again.
    services.ticket_resolve(ticket=late, by=org.rep, resolution="ok")
    late = services.ticket_reopen(ticket=late, by=org.service)
    assert not late.is_overdue
    assert services.ticket_flag_overdue(now=late.sla_due_at + dt.timedelta(minutes=1)) == 2


# --- Celery wiring -----------------------------------------------------------------------------


def test_tasks_run_the_services_and_are_scheduled(org):
    CustomerFactory(owner=org.rep)
    assert tasks.pool_recycle.delay().get() == {"warned": 0, "recycled": 0}
    assert tasks.follow_up_remind_due.delay().get() == 0
    assert tasks.ticket_flag_overdue.delay().get() == 0
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "apps.customers.tasks.pool_recycle",
        "apps.customers.tasks.follow_up_remind_due",
        "apps.customers.tasks.ticket_flag_overdue",
    } <= scheduled
    assert PeriodicTask.objects.get(task="apps.customers.tasks.pool_recycle").crontab.hour == "2"


def test_default_rules_exist(db):
    assert dict(PoolRule.objects.values_list("level", "days")) == {
        "A": 90,
        "B": 60,
        "C": 30,
        "D": 15,
    }
    assert timezone.now()
