"""The demo automation rules: created when their models and actions exist, idempotent, working."""

from __future__ import annotations

import pytest

from apps.customers.services import customer_update
from apps.notify.models import Notification, OutboundMessage
from apps.org.demo import DemoContext, seed_org
from apps.studio.automation import ActionSpec, register_action, unregister_action
from apps.studio.demo import seed_automation
from apps.studio.models import AutomationRule, RuleRun
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def seed() -> DemoContext:
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_automation(ctx)
    return ctx


def test_signed_customer_rule_sends_a_welcome_sms_and_notifies(django_capture_on_commit_callbacks):
    ctx = seed()
    seed_automation(ctx)  # idempotent
    names = set(AutomationRule.objects.values_list("name", flat=True))
    assert "签约客户：欢迎短信 + 回访任务" in names and "跟进提醒：下次跟进前3天" in names
    # No sales app on this branch: the contract rule waits until sales.contract is registered.
    assert "合同审批通过：交付任务 + 通知财务" not in names
    rep = ctx.users["sales1"]
    customer = CustomerFactory(owner=rep, phone="13800001111", status="following")
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=customer, by=None, data={"status": "signed"})
    run = RuleRun.objects.get()
    assert run.status == "succeeded"
    sms = OutboundMessage.objects.get(channel="sms")
    assert sms.to == "13800001111" and customer.name in sms.body and sms.status == "sent"
    assert Notification.objects.filter(recipient=rep, message__contains="已签约").exists()


def test_create_task_joins_the_rule_when_the_tasks_app_registers_it(db):
    register_action(ActionSpec(key="create_task", label="Create a task", run=lambda ctx: None))
    try:
        seed()
    finally:
        unregister_action("create_task")
    rule = AutomationRule.objects.get(name="签约客户：欢迎短信 + 回访任务")
    assert list(rule.actions.values_list("kind", flat=True)) == [
        "send_sms",
        "create_task",
        "notify",
    ]
