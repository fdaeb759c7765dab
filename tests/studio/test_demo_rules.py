"""The demo automation rules: created when their models and actions exist, idempotent, working.
The contract rule end to end (through the real approval services): tests/studio/test_wiring.py.
"""

from __future__ import annotations

import pytest

from apps.customers.services import customer_update
from apps.notify.models import Notification, OutboundMessage
from apps.org.demo import DemoContext, seed_org
from apps.studio.demo import seed_automation
from apps.studio.models import AutomationRule, RuleRun
from apps.tasks.models import Task
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
    assert "合同审批通过：交付任务 + 通知财务" in names
    rep = ctx.users["sales1"]
    customer = CustomerFactory(owner=rep, phone="13800001111", status="following")
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=customer, by=None, data={"status": "signed"})
    run = RuleRun.objects.get()
    assert run.status == "succeeded", run.error
    task = Task.objects.get(assignee=rep)
    assert task.title == f"欢迎回访：{customer.name}" and task.customer_id == customer.pk
    assert task.link == customer and task.due_at is not None
    sms = OutboundMessage.objects.get(channel="sms")
    assert sms.to == "13800001111" and customer.name in sms.body and sms.status == "sent"
    assert Notification.objects.filter(recipient=rep, message__contains="已签约").exists()


def test_every_demo_rule_exists_with_sales_and_tasks_registered(db):
    seed()
    rule = AutomationRule.objects.get(name="签约客户：欢迎短信 + 回访任务")
    assert list(rule.actions.values_list("kind", flat=True)) == [
        "send_sms",
        "create_task",
        "notify",
    ]
    contract_rule = AutomationRule.objects.get(name="合同审批通过：交付任务 + 通知财务")
    assert contract_rule.model_label == "sales.contract"
    assert list(contract_rule.actions.values_list("kind", flat=True)) == ["create_task", "notify"]
