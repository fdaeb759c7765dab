"""notifications/ (DESIGN §5): the caller's own notifications; read and read-all."""

from __future__ import annotations

import pytest

from apps import notify
from apps.notify.models import Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


@pytest.fixture
def mine(user, other_user):
    notify.send([user, other_user], "deal.won", message="Deal won", url="/deals/1/")
    notify.send([user], "task.due", message="Task due")
    return list(Notification.objects.filter(recipient=user).order_by("id"))


def test_lists_only_my_notifications(user_client, mine):
    body = user_client.get(URL).json()
    assert body["count"] == 2
    assert [n["id"] for n in body["results"]] == [mine[1].pk, mine[0].pk]  # newest first
    assert {"id", "verb", "message", "url", "read_at"} <= set(body["results"][0])
    assert body["results"][1]["url"] == "/deals/1/"


def test_unread_filter(user_client, mine):
    mine[0].read_at = mine[0].created_at
    mine[0].save()
    body = user_client.get(URL, {"unread": "1"}).json()
    assert [n["id"] for n in body["results"]] == [mine[1].pk]


def test_mark_read(user_client, mine):
    response = user_client.post(f"{URL}{mine[0].pk}/read/")

    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    mine[0].refresh_from_db()
    assert mine[0].read_at is not None
    mine[1].refresh_from_db()
    assert mine[1].read_at is None


def test_another_users_notification_is_404(user_client, other_user, mine):
    theirs = Notification.objects.get(recipient=other_user)
    assert user_client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert user_client.post(f"{URL}{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all(user_client, other_user, mine):
    response = user_client.post(f"{URL}read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(
        recipient__username="alice", read_at__isnull=True
    ).exists()
    assert Notification.objects.get(recipient=other_user).read_at is None


def test_anonymous_is_401(api_client, mine):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(f"{URL}read-all/").status_code == 401


def test_notifications_are_read_only(user_client, mine):
    assert user_client.post(URL, {"message": "x"}).status_code == 405
    assert user_client.delete(f"{URL}{mine[0].pk}/").status_code == 405
    assert Notification.objects.count() == 3
