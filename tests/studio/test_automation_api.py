"""automation-rules/, automation-runs/, webhook-subscriptions/, webhook-deliveries/: staff only."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from apps.customers.models import Customer
from apps.notify.models import WebhookDelivery, WebhookSubscription
from apps.studio.models import AutomationRule, RuleRun
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db

RULE = {
    "name": "signed → welcome",
    "model": "customers.customer",
    "trigger": "field_changed",
    "trigger_field": "status",
    "to_value": "signed",
    "conditions": [{"field": "level", "operator": "in", "value": "A,B"}],
    "actions": [{"kind": "notify", "params": {"owner": True, "message": "{customer.name}"}}],
}


@pytest.fixture
def staff_client(api_client):
    api_client.force_authenticate(UserFactory(is_staff=True))
    return api_client


def test_staff_creates_reads_and_updates_a_rule(staff_client):
    resp = staff_client.post("/api/v1/automation-rules/", RULE, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["model"] == "customers.customer" and len(body["actions"]) == 1
    rule = AutomationRule.objects.get()
    assert rule.conditions.get().value == "A,B"
    resp = staff_client.patch(
        f"/api/v1/automation-rules/{rule.pk}/", {"name": "renamed"}, format="json"
    )
    assert resp.status_code == 200, resp.json()
    assert rule.actions.count() == 1  # children kept
    resp = staff_client.patch(
        f"/api/v1/automation-rules/{rule.pk}/", {"conditions": []}, format="json"
    )
    assert resp.status_code == 200 and rule.conditions.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "org.user"}, "model"),
        ({"trigger_field": ""}, "trigger_field"),
        ({"conditions": [{"field": "nope", "operator": "eq", "value": "1"}]}, "conditions[0]"),
        ({"actions": [{"kind": "notify", "params": {"message": "{x.y}"}}]}, "actions[0]"),
        ({"actions": [{"kind": "rm_rf", "params": {}}]}, "actions[0]"),
    ],
)
def test_bad_rules_are_400_with_field_errors(staff_client, change, field):
    resp = staff_client.post("/api/v1/automation-rules/", {**RULE, **change}, format="json")
    assert resp.status_code == 400 and field in resp.json()
    assert AutomationRule.objects.count() == 0


def test_non_staff_and_anonymous_are_refused(api_client, user):
    assert api_client.get("/api/v1/automation-rules/").status_code == 401
    api_client.force_authenticate(user)
    for path in [
        "automation-rules",
        "automation-runs",
        "webhook-subscriptions",
        "webhook-deliveries",
    ]:
        assert api_client.get(f"/api/v1/{path}/").status_code == 403
    assert api_client.post("/api/v1/automation-rules/", RULE, format="json").status_code == 403
    assert AutomationRule.objects.count() == 0


def test_runs_list_and_rerun(staff_client):
    rule = AutomationRule.objects.create(
        name="r", content_type=ContentType.objects.get_for_model(Customer)
    )
    run = RuleRun.objects.create(
        rule=rule,
        content_type=rule.content_type,
        object_id=999,
        idempotency_key="x",
        trigger="created",
        status="succeeded",
    )
    assert staff_client.get("/api/v1/automation-runs/").json()["count"] == 1
    assert staff_client.post(f"/api/v1/automation-runs/{run.pk}/rerun/").status_code == 400
    RuleRun.objects.filter(pk=run.pk).update(status="failed")
    resp = staff_client.post(f"/api/v1/automation-runs/{run.pk}/rerun/")
    assert resp.status_code == 200
    assert resp.json()["status"] in ("pending", "failed")  # record 999 doesn't exist


def test_webhook_subscriptions_api(staff_client):
    bad = staff_client.post(
        "/api/v1/webhook-subscriptions/",
        {"name": "x", "url": "https://erp.example.com/hook", "events": []},
        format="json",
    )
    assert bad.status_code == 400 and "events" in bad.json()
    resp = staff_client.post(
        "/api/v1/webhook-subscriptions/",
        {"name": "erp", "url": "https://erp.example.com/hook", "events": ["customers.*"]},
        format="json",
    )
    assert resp.status_code == 201 and "secret" not in resp.json()
    sub = WebhookSubscription.objects.get()
    assert len(sub.secret) > 20  # generated
    d = WebhookDelivery.objects.create(
        subscription=sub, url=sub.url, event="e", payload={}, idempotency_key="k", status="failed"
    )
    listed = staff_client.get("/api/v1/webhook-deliveries/").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    assert staff_client.post(f"/api/v1/webhook-deliveries/{d.pk}/resend/").status_code == 200
