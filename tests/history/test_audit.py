"""Login audit (django-axes logs, shown in the admin) and audited bulk admin actions."""

from __future__ import annotations

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from apps.notify.integration_models import WebhookSubscription
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def test_login_logout_and_failed_login_are_recorded_and_shown_to_admins(client, admin_user):
    user = UserFactory(username="alice")
    user.set_password("right-pass-1")
    user.save()
    login = reverse("login")
    client.post(login, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    assert AccessFailureLog.objects.filter(username="alice", ip_address="10.0.0.9").count() == 1
    res = client.post(login, {"username": "alice", "password": "right-pass-1"})
    assert res.status_code == 302
    log = AccessLog.objects.get(username="alice")
    assert log.logout_time is None
    client.post(reverse("logout"))
    log.refresh_from_db()
    assert log.logout_time is not None
    # The failure outlives the successful sign-in (AccessAttempt is reset, this is not).
    assert AccessFailureLog.objects.filter(username="alice").exists()

    client.force_login(admin_user)
    for model in ("accesslog", "accessfailurelog", "accessattempt"):
        page = client.get(reverse(f"admin:axes_{model}_changelist"))
        assert page.status_code == 200, model
    filtered = client.get(reverse("admin:axes_accessfailurelog_changelist"), {"q": "alice"})
    assert "alice" in filtered.content.decode()


def test_non_admin_cannot_read_the_login_audit(client):
    staff = UserFactory(is_staff=True)  # staff without axes permissions
    client.force_login(staff)
    assert client.get(reverse("admin:axes_accesslog_changelist")).status_code == 403


def test_bulk_admin_action_is_logged_per_record(client, admin_user):
    subs = [
        WebhookSubscription.objects.create(name=f"s{i}", url=f"https://example.com/{i}")
        for i in range(2)
    ]
    client.force_login(admin_user)
    res = client.post(
        reverse("admin:notify_webhooksubscription_changelist"),
        {"action": "enable", "_selected_action": [s.pk for s in subs]},
    )
    assert res.status_code == 302
    entries = LogEntry.objects.filter(user=admin_user, action_flag=CHANGE)
    assert sorted(int(e.object_id) for e in entries) == sorted(s.pk for s in subs)
    assert all("enable" in e.change_message.lower() for e in entries)


def test_admin_history_of_approval_templates(client, admin_user):
    from apps.approvals.models import ApprovalTemplate

    template = ApprovalTemplate.objects.create(code="t1", name="模板", kind="generic")
    template.name = "模板二"
    template.save()
    client.force_login(admin_user)
    res = client.get(reverse("admin:approvals_approvaltemplate_history", args=[template.pk]))
    assert res.status_code == 200
    assert template.history.count() == 2
