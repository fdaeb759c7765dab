"""Robots, work notifications, SMS, webhooks and preferences against a real local HTTP server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps import notify
from apps.notify import outbound, robots, sms, webhooks
from apps.notify.models import (
    ChannelSetting,
    Delivery,
    Notification,
    OutboundMessage,
    QuietHours,
    Robot,
    SmsGateway,
    WebhookDelivery,
    WebhookSubscription,
    WorkApp,
)
from apps.notify.tasks import quiet_until
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


# --- group robots ----------------------------------------------------------------------------
def test_dingtalk_robot_signs_and_mentions_by_mobile(http_server, commits):
    robot = Robot.objects.create(
        name="销售群",
        provider="dingtalk",
        webhook_url=http_server.url("/robot/send?access_token=t"),
        secret="SECabc",
        events=["deal.*"],
    )
    ann = UserFactory(mobile="13800000001")
    commits(notify.send, [ann], "deal.won", message="Deal won: 华为", url="/deals/1/")
    req = http_server.at("/robot/send")[0]
    ts = int(req.query["timestamp"])
    expected = base64.b64encode(
        hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()
    ).decode()
    assert req.query["sign"] == expected and req.query["access_token"] == "t"
    body = req.json()
    assert body["msgtype"] == "markdown"
    assert body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert (
        "Deal won: 华为" in body["markdown"]["text"] and "@13800000001" in body["markdown"]["text"]
    )
    msg = OutboundMessage.objects.get(robot=robot)
    assert (msg.status, msg.response_code, msg.attempts) == ("sent", 200, 1)


def test_wecom_robot_text_with_mentions_and_events_filter(http_server, commits):
    Robot.objects.create(
        name="客服群",
        provider="wecom",
        webhook_url=http_server.url("/wecom"),
        format="text",
        events=["customers.ticket_assigned"],
    )
    bob = UserFactory(mobile="13900000002")
    commits(notify.send, [bob], "deal.won", message="not for this robot")
    commits(notify.send, [bob], "customers.ticket_assigned", message="Ticket for you")
    [req] = http_server.at("/wecom")
    assert req.json()["msgtype"] == "text"
    assert req.json()["text"]["mentioned_mobile_list"] == ["13900000002"]
    assert "Ticket for you" in req.json()["text"]["content"]


def test_robot_error_code_is_logged_as_a_failure(http_server, commits):
    http_server.respond("/bad", 200, {"errcode": 310000, "errmsg": "sign not match"})
    Robot.objects.create(
        name="x", provider="dingtalk", webhook_url=http_server.url("/bad"), events=["*"]
    )
    commits(notify.send, [UserFactory()], "anything", message="hello")
    msg = OutboundMessage.objects.get()
    assert msg.status == "failed" and "310000" in msg.error and "sign not match" in msg.error


def test_payload_shapes():
    ding = Robot(provider="dingtalk", format="text", webhook_url="http://x/")
    assert robots.robot_payload(ding, title="T", text="hi", mobiles=["1"]) == {
        "msgtype": "text",
        "text": {"content": "hi @1"},
        "at": {"atMobiles": ["1"], "isAtAll": False},
    }
    wecom = Robot(provider="wecom", format="markdown", webhook_url="http://x/")
    assert robots.robot_payload(wecom, title="T", text="hi", mobiles=[]) == {
        "msgtype": "markdown",
        "markdown": {"content": "**T**\nhi"},
    }
    assert (
        robots.signed_url(Robot(provider="wecom", secret="s", webhook_url="http://x/"))
        == "http://x/"
    )


# --- work notifications ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "token_path", "send_path", "id_field"),
    [
        (
            "dingtalk",
            "/gettoken",
            "/topapi/message/corpconversation/asyncsend_v2",
            "dingtalk_userid",
        ),
        ("wecom", "/cgi-bin/gettoken", "/cgi-bin/message/send", "wecom_userid"),
    ],
)
def test_work_notification_to_the_users_id(
    http_server, commits, mailoutbox, provider, token_path, send_path, id_field
):
    http_server.respond(
        token_path, 200, {"errcode": 0, "access_token": "TOKEN", "expires_in": 7200}
    )
    WorkApp.objects.create(
        provider=provider, app_key="k", app_secret="s", agent_id="42", api_base=http_server.url("")
    )
    user = UserFactory(email="", **{id_field: "u-001"})
    commits(notify.send, [user], "deal.won", message="签约了")
    sent = http_server.at(send_path)[0]
    assert sent.query["access_token"] == "TOKEN"
    body = sent.json()
    if provider == "dingtalk":
        assert (body["userid_list"], body["agent_id"]) == ("u-001", "42")
        assert "签约了" in body["msg"]["markdown"]["text"]
    else:
        assert (body["touser"], body["agentid"]) == ("u-001", "42")
    assert Delivery.objects.get(channel=provider).status == "sent"
    # The token is cached: a second message asks for none.
    commits(notify.send, [user], "deal.won", message="again")
    assert len(http_server.at(token_path)) == 1


def test_work_channel_unavailable_without_app_or_id(db):
    from apps.notify import channels

    user = UserFactory(dingtalk_userid="x")
    assert channels.get("dingtalk").available_for(user) is False  # no app
    WorkApp.objects.create(provider="dingtalk", app_key="k", app_secret="s", agent_id="1")
    assert channels.get("dingtalk").available_for(user) is True
    assert channels.get("dingtalk").available_for(UserFactory()) is False  # no id


# --- SMS -------------------------------------------------------------------------------------
def test_console_backend_is_the_default(caplog):
    assert isinstance(sms.backend(), sms.ConsoleBackend)
    with caplog.at_level("INFO", logger="weft.notify.sms"):
        assert sms.backend().send("13800000000", "hi") == (None, "logged")
    assert "13800000000" in caplog.text


def test_http_gateway_get_url_encodes_the_text(http_server):
    SmsGateway.objects.create(
        name="gw",
        backend="http",
        method="GET",
        url_template=http_server.url("/sms?to={to}&msg={text}&k=1"),
        sign="【Weft】",
    )
    status, _body = sms.backend().send("13800000000", "验证码 1234 & more")
    req = http_server.at("/sms")[0]
    assert status == 200
    assert req.query == {"to": "13800000000", "msg": "【Weft】验证码 1234 & more", "k": "1"}


def test_http_gateway_post_json_escapes_the_text(http_server):
    SmsGateway.objects.create(
        name="gw",
        backend="http",
        method="POST",
        url_template=http_server.url("/send"),
        body_template='{"mobile": "{to}", "content": "{text}", "fixed": true}',
        headers={"X-Key": "secret"},
    )
    sms.backend().send("138", 'He said "hi", "admin": true}')
    req = http_server.at("/send")[0]
    assert req.json() == {"mobile": "138", "content": 'He said "hi", "admin": true}', "fixed": True}
    assert req.headers["X-Key"] == "secret"


def test_gateway_error_status_fails_the_message(http_server, commits):
    http_server.respond("/down", 503, {"error": "busy"})
    SmsGateway.objects.create(
        name="gw", backend="http", method="GET", url_template=http_server.url("/down?to={to}")
    )
    msg = commits(outbound.message_queue, channel="sms", to="138", body="hi")
    msg.refresh_from_db()
    assert msg.status == "failed" and "503" in msg.error


# --- outbound webhooks -----------------------------------------------------------------------
def test_webhook_is_signed_and_a_receiver_can_verify_it(http_server, commits):
    sub = WebhookSubscription.objects.create(
        name="erp", url=http_server.url("/hook"), secret="s3cret", events=["erp.*"]
    )
    commits(webhooks.webhook_publish, "erp.sync", {"n": 1, "名字": "华为"}, key="evt-1")
    req = http_server.at("/hook")[0]
    h = req.headers
    assert h["X-Weft-Event"] == "erp.sync" and h["X-Weft-Delivery"] == f"evt-1:s{sub.pk}"
    assert webhooks.verify_signature(
        "s3cret", req.body, h["X-Weft-Timestamp"], h["X-Weft-Signature"]
    )
    # What a receiver in any language does: HMAC-SHA256 over "<timestamp>.<raw body>".
    mac = hmac.new(b"s3cret", h["X-Weft-Timestamp"].encode() + b"." + req.body, hashlib.sha256)
    assert h["X-Weft-Signature"] == "sha256=" + mac.hexdigest()
    assert not webhooks.verify_signature(
        "wrong", req.body, h["X-Weft-Timestamp"], h["X-Weft-Signature"]
    )
    assert not webhooks.verify_signature(
        "s3cret", req.body + b" ", h["X-Weft-Timestamp"], h["X-Weft-Signature"]
    )
    old = str(int(h["X-Weft-Timestamp"]) - 3600)
    assert not webhooks.verify_signature(
        "s3cret", req.body, old, webhooks.sign("s3cret", int(old), req.body)
    )
    payload = json.loads(req.body)
    assert payload["event"] == "erp.sync" and payload["data"] == {"n": 1, "名字": "华为"}
    d = WebhookDelivery.objects.get()
    assert (d.status, d.response_code, d.attempts) == ("sent", 200, 1)


def test_record_changes_reach_subscribers(http_server, commits):
    from apps.customers.services import customer_create

    WebhookSubscription.objects.create(
        name="bi", url=http_server.url("/bi"), events=["customers.customer.created"]
    )
    customer = commits(customer_create, by=None, data={"name": "华为", "level": "A"}, owner=None)
    body = http_server.at("/bi")[0].json()
    assert body["event"] == "customers.customer.created"
    assert body["data"]["record"]["id"] == customer.pk and body["data"]["record"]["name"] == "华为"
    assert "name_normalized" not in body["data"]["record"]  # whitelisted fields only


def test_webhook_retries_logs_codes_and_auto_disables(http_server, commits):
    from apps.notify.tasks import deliver_webhook

    http_server.respond("/flaky", 500, {"error": "boom"})
    admin = UserFactory(is_superuser=True, is_staff=True)
    sub = WebhookSubscription.objects.create(
        name="flaky", url=http_server.url("/flaky"), events=["*"], max_failures=2
    )
    commits(webhooks.webhook_publish, "a", {}, key="k1")
    d = WebhookDelivery.objects.get()
    assert (d.status, d.response_code, d.error) == ("failed", 500, "HTTP 500")
    sub.refresh_from_db()
    assert sub.active and sub.consecutive_failures == 1

    # Outside eager mode a failure is retried with backoff, not final.
    WebhookDelivery.objects.filter(pk=d.pk).update(status="pending")
    deliver_webhook.push_request(retries=0, is_eager=False)
    try:
        status, error = webhooks.attempt(d.pk, final=False)
    finally:
        deliver_webhook.pop_request()
    d.refresh_from_db()
    assert status == "pending" and d.attempts == 2 and d.status == "pending"

    commits(webhooks.webhook_publish, "b", {}, key="k2")
    sub.refresh_from_db()
    assert not sub.active and sub.disabled_at is not None and "2 deliveries" in sub.disabled_reason
    assert Notification.objects.filter(recipient=admin, verb="notify.webhook_disabled").exists()
    commits(webhooks.webhook_publish, "c", {}, key="k3")
    assert WebhookDelivery.objects.count() == 2  # a disabled subscription gets nothing

    # Fixed: the admin re-sends one and enables the subscription again.
    http_server.respond("/flaky", 200, {})
    webhooks.subscription_enable(subscription=sub)
    commits(webhooks.delivery_resend, delivery=d)
    d.refresh_from_db()
    assert d.status == "sent" and d.response_code == 200
    sub.refresh_from_db()
    assert sub.active and sub.consecutive_failures == 0


def test_call_webhook_action_of_a_rule(http_server, commits):
    from django.contrib.contenttypes.models import ContentType

    from apps.customers.models import Customer
    from apps.customers.services import customer_create
    from apps.studio.models import AutomationRule, RuleAction

    rule = AutomationRule.objects.create(
        name="to erp", content_type=ContentType.objects.get_for_model(Customer)
    )
    action = RuleAction(
        rule=rule,
        kind="call_webhook",
        params={"url": http_server.url("/erp"), "secret": "k", "event": "new"},
    )
    action.full_clean()
    action.save()
    commits(customer_create, by=None, data={"name": "小米"}, owner=None)
    req = http_server.at("/erp")[0]
    assert req.headers["X-Weft-Event"] == "automation.new"
    assert req.json()["data"]["record"]["name"] == "小米"
    assert webhooks.verify_signature(
        "k", req.body, req.headers["X-Weft-Timestamp"], req.headers["X-Weft-Signature"]
    )


# --- preferences -----------------------------------------------------------------------------
def test_per_event_choice_overrides_the_channel_switch(commits, mailoutbox):
    ann = UserFactory(email="ann@example.com")
    ChannelSetting.objects.create(user=ann, channel="email", event="deal.lost", enabled=False)
    commits(notify.send, [ann], "deal.lost", message="lost")
    commits(notify.send, [ann], "deal.won", message="won")
    assert [m.subject.endswith("won") for m in mailoutbox] == [True]
    ChannelSetting.objects.create(user=ann, channel="email", event="", enabled=False)
    ChannelSetting.objects.create(user=ann, channel="email", event="deal.big", enabled=True)
    commits(notify.send, [ann], "deal.big", message="big")
    commits(notify.send, [ann], "deal.won", message="won again")
    assert [m.subject.split("] ")[1] for m in mailoutbox] == ["won", "big"]
    assert Notification.objects.filter(recipient=ann).count() == 4  # in-app always


def test_quiet_hours_windows():
    shanghai = ZoneInfo("Asia/Shanghai")
    user = UserFactory()
    QuietHours.objects.create(user=user, start=dt.time(22), end=dt.time(7))
    at = lambda h, m=0: dt.datetime(2026, 1, 5, h, m, tzinfo=shanghai)  # noqa: E731
    assert quiet_until(user.pk, at(23)) == at(7) + dt.timedelta(days=1)
    assert quiet_until(user.pk, at(3)) == at(7)
    assert quiet_until(user.pk, at(12)) is None
    QuietHours.objects.filter(user=user).update(start=dt.time(12), end=dt.time(14))
    assert quiet_until(user.pk, at(13, 30)) == at(14)
    assert quiet_until(user.pk, at(14)) is None


def test_quiet_hours_hold_external_messages_back(commits, mailoutbox, monkeypatch):
    from apps.notify import tasks

    ann = UserFactory(email="ann@example.com")
    monkeypatch.setattr(tasks, "quiet_until", lambda uid, now=None: timezone.now())
    commits(notify.send, [ann], "x", message="night")
    assert mailoutbox == []
    d = Delivery.objects.get()
    assert d.status == "pending" and d.error.startswith("quiet hours")
    monkeypatch.setattr(tasks, "quiet_until", lambda uid, now=None: None)
    commits(tasks.release_quiet_deliveries.apply)
    assert len(mailoutbox) == 1 and Delivery.objects.get().status == "sent"


def test_settings_page_saves_event_choices_and_quiet_hours(client):
    from apps.notify.events import register_event

    register_event("test.event", "Test event")
    user = UserFactory(email="u@example.com")
    client.force_login(user)
    page = client.get("/notifications/settings/")
    assert any(row["key"] == "test.event" for row in page.context["matrix"])
    resp = client.post(
        "/notifications/settings/", {"email": "on", "quiet_start": "22:00", "quiet_end": "07:30"}
    )
    assert resp.status_code == 302
    assert (
        ChannelSetting.objects.get(user=user, channel="email", event="test.event").enabled is False
    )
    q = QuietHours.objects.get(user=user)
    assert (q.start, q.end) == (dt.time(22), dt.time(7, 30))
    bad = client.post("/notifications/settings/", {"quiet_start": "22:00", "quiet_end": ""})
    assert bad.status_code == 200 and "quiet" in bad.context["errors"]
    client.post("/notifications/settings/", {"email": "on"})
    assert not QuietHours.objects.filter(user=user).exists()


def test_admin_sends_a_test_message(http_server, client):
    admin = UserFactory(is_superuser=True, is_staff=True, mobile="13800000009")
    robot = Robot.objects.create(name="r", provider="dingtalk", webhook_url=http_server.url("/r"))
    client.force_login(admin)
    resp = client.post(
        "/admin/notify/robot/", {"action": "send_test", "_selected_action": [robot.pk]}, follow=True
    )
    assert resp.status_code == 200
    body = http_server.at("/r")[0].json()
    assert body["at"]["atMobiles"] == ["13800000009"]
    assert OutboundMessage.objects.get().status == "sent"
