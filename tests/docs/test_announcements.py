"""Announcements: audiences, scheduled publishing, read receipts, reminders, the to-do hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.docs import selectors, services
from apps.docs.models import Announcement, AnnouncementRead, Audience
from apps.notify.models import Notification

from .conftest import fresh

pytestmark = pytest.mark.django_db


def titles(qs):
    return {a.title for a in qs}


def test_publish_needs_the_permission(co):
    with pytest.raises(services.PermissionDenied):
        services.announcement_publish(by=co.outsider, title="x")
    assert not Announcement.objects.exists()


def test_audiences(co):
    services.announcement_publish(by=co.manager, title="all", body="hi")
    services.announcement_publish(
        by=co.manager, title="sales", audience=Audience.DEPARTMENTS, departments=[co.sales]
    )
    services.announcement_publish(
        by=co.manager, title="librarians", audience=Audience.ROLES, roles=[co.librarians]
    )
    assert titles(selectors.announcement_list(user=fresh(co.rep))) == {"all", "sales"}
    assert titles(selectors.announcement_list(user=fresh(co.agent))) == {"all"}
    assert titles(selectors.announcement_list(user=fresh(co.outsider))) == {"all"}
    # The publisher sees their own even when not addressed.
    assert titles(selectors.announcement_list(user=fresh(co.manager))) == {
        "all",
        "sales",
        "librarians",
    }
    sales = Announcement.objects.get(title="sales")
    assert set(selectors.audience_users(sales)) == {co.rep, co.rep2}
    assert fresh(co.rep).has_perm("docs.view_announcement", sales)
    assert not fresh(co.agent).has_perm("docs.view_announcement", sales)


def test_audience_is_refused_without_targets(co):
    with pytest.raises(services.ServiceError):
        services.announcement_publish(by=co.manager, title="x", audience=Audience.DEPARTMENTS)


def test_publish_notifies_the_audience_in_app(co):
    ann = services.announcement_publish(
        by=co.manager, title="销售例会", audience=Audience.DEPARTMENTS, departments=[co.sales]
    )
    recipients = set(
        Notification.objects.filter(verb="docs.announcement_published").values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {"rep", "rep2"}  # not the publisher
    ann.refresh_from_db()
    assert ann.notified_at is not None


def test_scheduled_publishing(co):
    later = timezone.now() + timedelta(hours=2)
    ann = services.announcement_publish(by=co.manager, title="later", published_at=later)
    assert titles(selectors.announcement_list(user=fresh(co.rep))) == set()
    assert "later" in titles(selectors.announcement_list(user=fresh(co.manager)))
    assert not Notification.objects.exists()
    assert services.announcements_notify_due() == 0
    Announcement.objects.filter(pk=ann.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    assert titles(selectors.announcement_list(user=fresh(co.rep))) == {"later"}
    assert services.announcements_notify_due() == 1
    assert services.announcements_notify_due() == 0  # idempotent
    assert Notification.objects.filter(recipient=co.rep).count() == 1


def test_drafts_are_seen_by_their_publisher_only(co):
    services.announcement_publish(by=co.manager, title="draft", draft=True)
    assert titles(selectors.announcement_list(user=fresh(co.rep))) == set()
    assert titles(selectors.announcement_list(user=fresh(co.manager))) == {"draft"}
    ann = Announcement.objects.get()
    with pytest.raises(services.ServiceError):
        services.announcement_mark_read(announcement=ann, by=co.rep)


def test_read_receipts_and_counts(co):
    ann = services.announcement_publish(by=co.manager, title="A", requires_read=True)
    services.announcement_mark_read(announcement=ann, by=co.rep)
    first = AnnouncementRead.objects.get(user=co.rep).read_at
    services.announcement_mark_read(announcement=ann, by=co.rep)  # idempotent
    assert AnnouncementRead.objects.get(user=co.rep).read_at == first
    row = selectors.announcement_list(user=fresh(co.rep)).get()
    assert row.is_read and row.read_count == 1
    assert not selectors.announcement_list(user=fresh(co.rep2)).get().is_read
    readers = selectors.announcement_readers(ann)
    assert [u.username for u in readers["read"]] == ["rep"]
    assert {u.username for u in readers["unread"]} == {
        "rep2", "agent", "outsider", "root"
    }  # fmt: skip
    assert readers["read_count"] == 1 and readers["audience_count"] == 5


def test_unread_required_for(co):
    required = services.announcement_publish(by=co.manager, title="must", requires_read=True)
    services.announcement_publish(by=co.manager, title="fyi")
    services.announcement_publish(
        by=co.manager, title="other", requires_read=True,
        audience=Audience.DEPARTMENTS, departments=[co.service],
    )  # fmt: skip
    user = fresh(co.rep)
    selectors.unread_required_count(user)
    with CaptureQueriesContext(connection) as ctx:
        rows = list(selectors.unread_required_for(user))
    assert len(ctx.captured_queries) == 1
    assert titles(rows) == {"must"}
    services.announcement_mark_read(announcement=required, by=co.rep)
    assert selectors.unread_required_count(fresh(co.rep)) == 0
    # The publisher is not asked to read their own announcement.
    assert selectors.unread_required_count(fresh(co.manager)) == 0


def test_remind_only_the_unread_once_an_hour(co):
    ann = services.announcement_publish(
        by=co.manager, title="R", requires_read=True,
        audience=Audience.DEPARTMENTS, departments=[co.sales],
    )  # fmt: skip
    services.announcement_mark_read(announcement=ann, by=co.rep)
    Notification.objects.all().delete()
    assert services.announcement_remind(announcement=ann, by=co.manager) == 1
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["rep2"]
    with pytest.raises(services.ServiceError) as exc:
        services.announcement_remind(announcement=ann, by=co.manager)
    assert exc.value.code == "throttled"
    assert Notification.objects.count() == 1
    Announcement.objects.filter(pk=ann.pk).update(
        last_reminded_at=timezone.now() - timedelta(minutes=61)
    )
    assert services.announcement_remind(announcement=ann, by=co.manager) == 1


def test_only_the_publisher_or_a_manager_reminds(co):
    ann = services.announcement_publish(by=co.manager, title="R")
    for user in (co.rep, co.agent, co.outsider):
        with pytest.raises(services.PermissionDenied):
            services.announcement_remind(announcement=ann, by=fresh(user))
    with pytest.raises(services.PermissionDenied):
        services.announcement_update(announcement=ann, by=fresh(co.rep), data={"title": "x"})
    ann.refresh_from_db()
    assert ann.title == "R" and ann.last_reminded_at is None
