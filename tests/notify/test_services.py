"""notify.send (DESIGN §4.4): in-app rows now, external channels after commit, failures logged."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.db import transaction

from apps import notify
from apps.notify import channels, services
from apps.notify.models import ChannelSetting, Delivery, Notification
from apps.notify.tasks import deliver
from apps.org.errors import ServiceError
from tests.org.factories import UserFactory
from tests.studio.factories import RecordFactory

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


class FailingChannel(channels.Channel):
    def deliver(self, notification) -> None:
        raise Boom("gateway down")


class RecordingChannel(channels.Channel):
    sent: list = []

    def deliver(self, notification) -> None:
        self.sent.append(notification.pk)


@pytest.fixture
def extra_channel(monkeypatch):
    """Register a channel for one test only."""

    def register(channel):
        monkeypatch.setitem(channels._channels, channel.name, channel)
        return channel

    return register


@pytest.fixture
def people():
    return {
        "ann": UserFactory(username="ann", email="ann@example.com"),
        "ben": UserFactory(username="ben", email=""),
        "cat": UserFactory(username="cat", email="cat@example.com"),
        "gone": UserFactory(username="gone", email="gone@example.com", is_active=False),
        "boss": UserFactory(username="boss", email="boss@example.com"),
    }


def test_one_notification_per_active_recipient_deduplicated_actor_excluded(people):
    record = RecordFactory(title="Big deal")
    p = people
    rows = notify.send(
        [p["ann"], p["ben"], p["ann"], None, p["gone"], p["boss"]],
        "deal.won",
        record,
        actor=p["boss"],
    )

    assert sorted(n.recipient.username for n in rows) == ["ann", "ben"]
    stored = Notification.objects.order_by("recipient__username")
    assert [(n.recipient.username, n.verb, n.message, n.actor_id) for n in stored] == [
        ("ann", "deal.won", "Big deal", p["boss"].pk),
        ("ben", "deal.won", "Big deal", p["boss"].pk),
    ]
    assert all(n.target == record for n in stored)
    assert all(n.read_at is None for n in stored)


def test_a_single_recipient_and_an_explicit_message(people):
    rows = notify.send(people["ann"], "hello", message="Hi there", url="/somewhere/")
    assert [(n.message, n.url, n.target_type) for n in rows] == [("Hi there", "/somewhere/", None)]


def test_the_actor_can_ask_to_be_notified(people):
    rows = notify.send([people["boss"]], "self", actor=people["boss"], notify_actor=True)
    assert [n.recipient for n in rows] == [people["boss"]]


def test_nobody_to_notify_stores_nothing(people):
    assert notify.send([], "x") == []
    assert notify.send(None, "x") == []
    assert notify.send([people["gone"]], "x") == []
    assert not Notification.objects.exists()


def test_long_messages_are_cut(people):
    [row] = notify.send(people["ann"], "x", message="m" * 600)
    assert len(row.message) == 500


def test_email_deliveries_only_for_users_with_an_email_who_did_not_opt_out(people):
    services.channel_setting_set(user=people["cat"], channel="email", enabled=False)

    notify.send([people["ann"], people["ben"], people["cat"]], "x", message="m")

    assert list(
        Delivery.objects.values_list("notification__recipient__username", "channel", "status")
    ) == [("ann", "email", "pending")]


def test_channels_only_limits_the_fan_out(people, extra_channel):
    extra_channel(RecordingChannel(name="recording", label="Rec"))
    notify.send([people["ann"]], "x", message="m", channels_only=["recording"])
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["recording"]


def test_a_channel_off_by_default_needs_the_users_opt_in(people, extra_channel):
    extra_channel(RecordingChannel(name="sms", label="SMS", default_on=False))
    ChannelSetting.objects.create(user=people["cat"], channel="sms", enabled=True)

    notify.send([people["ann"], people["cat"]], "x", message="m")

    assert sorted(
        Delivery.objects.filter(channel="sms").values_list(
            "notification__recipient__username", flat=True
        )
    ) == ["cat"]


def test_delivery_runs_after_commit_and_sends_mail(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify.send([people["ann"]], "deal.won", message="Deal won", url="/deals/1/")
    assert len(callbacks) == 1
    assert mailoutbox == []  # nothing leaves before the transaction commits
    assert Delivery.objects.get().status == Delivery.Status.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        notify.send([people["cat"]], "deal.won", message="Deal won 2")

    assert [m.to for m in mailoutbox] == [["cat@example.com"]]
    assert "Deal won 2" in mailoutbox[0].subject
    sent = Delivery.objects.get(notification__recipient=people["cat"])
    assert (sent.status, sent.attempts, sent.error) == (Delivery.Status.SENT, 1, "")
    assert sent.sent_at is not None


def test_mail_body_links_to_the_target(
    people, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.WEFT_BASE_URL = "https://crm.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        notify.send([people["ann"]], "x", message="Look", url="/deals/7/")
    mail = mailoutbox[0]
    assert mail.body.startswith("Look\n\nhttps://crm.example.com/deals/7/\n")
    html, mime = mail.alternatives[0]
    assert mime == "text/html"
    assert 'href="https://crm.example.com/deals/7/"' in html


def test_a_rolled_back_action_notifies_nobody(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            notify.send([people["ann"]], "x", message="m")
            raise Boom
    assert callbacks == []
    assert mailoutbox == []
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_a_failing_channel_is_logged_and_never_breaks_the_caller(
    people, mailoutbox, extra_channel, django_capture_on_commit_callbacks
):
    extra_channel(FailingChannel(name="broken", label="Broken"))

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify.send([people["ann"]], "x", message="m")

    assert len(rows) == 1
    failed = Delivery.objects.get(channel="broken")
    assert failed.status == Delivery.Status.FAILED
    assert failed.attempts == 1
    assert "gateway down" in failed.error
    # The other channel still went out.
    assert Delivery.objects.get(channel="email").status == Delivery.Status.SENT
    assert len(mailoutbox) == 1


def test_a_failed_attempt_is_logged_before_the_retry(people, extra_channel, monkeypatch):
    """With a real worker the task retries; the attempt and its error stay in the log."""
    extra_channel(FailingChannel(name="broken", label="Broken"))
    notify.send([people["ann"]], "x", message="m", channels_only=["broken"])
    delivery = Delivery.objects.get()

    def fake_retry(exc=None, countdown=None, **kwargs):
        return Retry("retry later", exc=exc, when=countdown)

    monkeypatch.setattr(deliver, "retry", fake_retry)
    deliver.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(Retry):
            deliver.run(delivery.pk)
    finally:
        deliver.pop_request()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert "gateway down" in delivery.error


def test_deliver_is_idempotent(people, mailoutbox):
    notify.send([people["ann"]], "x", message="m")  # the test transaction never commits
    delivery = Delivery.objects.get()

    assert deliver(delivery.pk) == "sent"
    assert deliver(delivery.pk) == "noop"
    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_deliver_of_a_missing_delivery_or_unknown_channel(people, mailoutbox):
    assert deliver(999_999) == "noop"
    [n] = notify.send([people["ann"]], "x", message="m", channels_only=[])
    orphan = Delivery.objects.create(notification=n, channel="carrier-pigeon")
    assert deliver(orphan.pk) == "skipped"
    orphan.refresh_from_db()
    assert (orphan.status, orphan.error) == (Delivery.Status.SKIPPED, "channel not registered")
    assert deliver(orphan.pk) == "noop"
    assert mailoutbox == []


class TestReadState:
    def test_mark_read(self, people):
        [n] = notify.send(people["ann"], "x", message="m")
        services.notification_mark_read(notification=n, by=people["ann"])
        n.refresh_from_db()
        first = n.read_at
        assert first is not None
        services.notification_mark_read(notification=n, by=people["ann"])
        n.refresh_from_db()
        assert n.read_at == first  # reading twice keeps the first time

    def test_someone_elses_notification_is_refused(self, people):
        [n] = notify.send(people["ann"], "x", message="m")
        with pytest.raises(ServiceError):
            services.notification_mark_read(notification=n, by=people["cat"])
        n.refresh_from_db()
        assert n.read_at is None

    def test_mark_all_read_touches_only_mine(self, people):
        notify.send([people["ann"], people["cat"]], "x", message="m")
        notify.send([people["ann"]], "y", message="m")
        assert services.notifications_mark_all_read(by=people["ann"]) == 2
        assert services.notifications_mark_all_read(by=people["ann"]) == 0
        assert Notification.objects.filter(read_at__isnull=True).get().recipient == people["cat"]


def test_channel_setting_set(people):
    row = services.channel_setting_set(user=people["ann"], channel="email", enabled=False)
    assert not row.enabled
    services.channel_setting_set(user=people["ann"], channel="email", enabled=True)
    assert ChannelSetting.objects.get().enabled
    with pytest.raises(ServiceError) as exc:
        services.channel_setting_set(user=people["ann"], channel="pigeon", enabled=True)
    assert exc.value.field == "channel"
