"""Notification pages: list, open (mark read + follow), read all, channel settings."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps import notify
from apps.notify.models import ChannelSetting, Notification

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_only_my_notifications(user, other_user):
    notify.send([user], "test.event", message="for alice")
    notify.send([other_user], "test.event", message="for bob")
    page = logged_in(user).get("/notifications/").context["page"]
    assert [n.message for n in page] == ["for alice"]


def test_list_query_count_is_constant(user):
    client = logged_in(user)
    client.get("/notifications/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/notifications/").status_code == 200
        return len(ctx.captured_queries)

    notify.send([user], "test.event", message="one", url="/profile/")
    few = count()
    for i in range(25):
        notify.send([user], "test.event", message=f"n{i}", url="/profile/")
    assert count() == few


def test_open_marks_read_and_follows_a_local_link(user):
    n = notify.send([user], "test.event", message="go", url="/profile/")[0]
    response = logged_in(user).post(f"/notifications/{n.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/profile/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_open_never_follows_an_outside_link(user):
    n = notify.send([user], "test.event", message="x", url="https://evil.example.com/")[0]
    response = logged_in(user).post(f"/notifications/{n.pk}/open/")
    assert response["Location"] == "/notifications/"


def test_someone_elses_notification_is_404_and_unchanged(user, other_user):
    n = notify.send([other_user], "test.event", message="bob's")[0]
    assert logged_in(user).post(f"/notifications/{n.pk}/open/").status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_open_needs_post(user):
    n = notify.send([user], "test.event", message="x")[0]
    assert logged_in(user).get(f"/notifications/{n.pk}/open/").status_code == 405


def test_read_all_marks_only_mine(user, other_user):
    notify.send([user, other_user], "test.event", message="both")
    logged_in(user).post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other_user, read_at__isnull=True).exists()


def test_unread_count_in_the_bell(user):
    notify.send([user], "test.event", message="a")
    notify.send([user], "test.event", message="b")
    response = logged_in(user).get("/")
    assert response.context["notify_unread"] == 2


def test_channel_settings_saved(user):
    client = logged_in(user)
    rows = client.get("/notifications/settings/").context["rows"]
    assert [r["name"] for r in rows] == ["email", "dingtalk", "wecom", "sms"]
    assert rows[0]["enabled"] is True and rows[0]["available"] is True
    # No DingTalk app is set up and the user has no mobile: those are not available.
    assert [r["available"] for r in rows[1:]] == [False, False, False]
    client.post("/notifications/settings/", {})  # checkbox off
    assert ChannelSetting.objects.get(user=user, channel="email", event="").enabled is False
    client.post("/notifications/settings/", {"email": "on"})
    assert ChannelSetting.objects.get(user=user, channel="email", event="").enabled is True


def test_anonymous_is_sent_to_sign_in():
    assert Client().get("/notifications/").status_code == 302
