"""Sales and tasks wired into automation (DESIGN §4.3, §6): registered models, events from the
services, the create_task action, and the demo contract rule end to end through the real
approval services (Celery eager)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.approvals.demo import seed_permissions
from apps.approvals.demo import seed_templates as seed_approval_templates
from apps.approvals.selectors import pending_tasks_for
from apps.approvals.services import approval_task_approve
from apps.customers.demo import seed_roles as seed_customer_roles
from apps.notify.models import Notification
from apps.org.demo import DemoContext, seed_org
from apps.org.models import User
from apps.sales.demo.contracts import seed_roles as seed_contract_roles
from apps.sales.demo.contracts import seed_templates as seed_contract_templates
from apps.sales.models import Contract
from apps.sales.services import contracts as contract_services
from apps.studio.automation import registry
from apps.studio.demo import seed_automation
from apps.studio.models import AutomationEvent, AutomationRule, RuleAction, RuleRun
from apps.tasks.models import Task
from apps.tasks.services import task_set_status
from tests.customers.factories import CustomerFactory
from tests.org.factories import UserFactory
from tests.tasks.factories import TaskFactory

pytestmark = pytest.mark.django_db


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def test_sales_and_tasks_models_and_the_create_task_action_are_registered():
    for label in (
        "sales.lead",
        "sales.opportunity",
        "sales.contract",
        "sales.payment",
        "sales.invoice",
        "tasks.task",
    ):
        assert registry.spec_for(label) is not None, label
    contract = registry.spec_for("sales.contract")
    assert contract.name == "contract"
    assert {"customer", "number", "status", "amount", "delivery_status"} <= set(contract.fields)
    assert registry.action("create_task") is not None


@pytest.fixture
def demo(db):
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_customer_roles(ctx)
    seed_approval_templates(ctx)
    seed_permissions(ctx)
    seed_contract_roles(ctx)
    seed_contract_templates(ctx)
    seed_automation(ctx)
    return ctx


def test_an_approved_contract_creates_the_onboarding_task_and_notifies_finance(
    demo, django_capture_on_commit_callbacks
):
    u = demo.users
    customer = CustomerFactory(owner=u["sales1"], department=u["sales1"].department)
    with django_capture_on_commit_callbacks(execute=True):
        contract = contract_services.contract_create(
            by=fresh(u["sales1"]),
            data={"customer": customer, "title": "备件年度供应合同", "amount": "186000.00"},
        )
        contract_services.contract_submit(contract=contract, by=fresh(u["sales1"]))
    assert not Task.objects.filter(title__startswith="Onboard").exists()  # pending: no rule yet
    contract.refresh_from_db()
    director = fresh(u["sales_director"])
    step = pending_tasks_for(director).get(process_id=contract.approval.process_id)
    with django_capture_on_commit_callbacks(execute=True):
        approval_task_approve(task=step, by=director, comment="同意")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    run = RuleRun.objects.get(rule__name="合同审批通过：交付任务 + 通知财务")
    assert run.status == "succeeded", run.error
    task = Task.objects.get(title=f"Onboard {customer.name}")
    assert task.assignee == u["service"]
    assert task.customer_id == customer.pk and task.link == contract
    assert task.due_at is not None and task.creator is None
    assert Notification.objects.filter(
        recipient=u["finance"], message__contains=contract.number
    ).exists()
    assert Notification.objects.filter(recipient=u["service"], verb="tasks.assigned").exists()


def test_contract_and_task_services_emit_events_only_when_a_rule_watches(demo):
    # The demo watches sales.contract; tasks has no rule: no outbox rows for tasks.
    u = demo.users
    customer = CustomerFactory(owner=u["sales1"], department=u["sales1"].department)
    contract = contract_services.contract_create(
        by=fresh(u["sales1"]), data={"customer": customer, "title": "T", "amount": "1000.00"}
    )
    contract_services.contract_update(
        contract=contract, by=fresh(u["sales1"]), data={"title": "T2", "amount": Decimal("2000")}
    )
    events = AutomationEvent.objects.filter(object_id=contract.pk).order_by("pk")
    assert [e.created for e in events] == [True, False]
    assert events[1].changes["title"] == ["T", "T2"]
    task = TaskFactory()
    task_set_status(task=task, status="doing", by=None)
    assert not AutomationEvent.objects.filter(content_type__model="task").exists()


def test_a_task_status_rule_fires_from_the_tasks_service(django_capture_on_commit_callbacks):
    from django.contrib.contenttypes.models import ContentType

    creator = UserFactory()
    rule = AutomationRule.objects.create(
        name="done",
        content_type=ContentType.objects.get_for_model(Task),
        trigger="field_changed",
        trigger_field="status",
        to_value="done",
    )
    RuleAction.objects.create(
        rule=rule, kind="notify", order=0, params={"users": [creator.pk], "message": "{task.title}"}
    )
    task = TaskFactory(title="写周报", creator=creator)
    with django_capture_on_commit_callbacks(execute=True):
        task_set_status(task=task, status="done", by=None)
    assert RuleRun.objects.get(rule=rule).status == "succeeded"
    assert Notification.objects.filter(recipient=creator, message="写周报").exists()


@pytest.mark.parametrize(
    "params",
    [
        {"assignee": "owner"},  # no title
        {"title": "x", "assignee": "nobody"},
        {"title": "x", "assignee": "user", "user": 999999},
        {"title": "x", "assignee": "role", "role": "no such role"},
        {"title": "x", "assignee": "owner", "due_in_days": -1},
        {"title": "x", "assignee": "owner", "due_in_days": "soon"},
        {"title": "{contract.owner.password}", "assignee": "owner"},
    ],
)
def test_create_task_refuses_bad_parameters(params):
    spec = registry.spec_for("sales.contract")
    with pytest.raises(ValidationError):
        registry.action("create_task").clean_params(params, spec)


def test_create_task_needs_an_owner_field_for_owner_assignees():
    spec = registry.spec_for("sales.payment")  # payments have no owner
    with pytest.raises(ValidationError):
        registry.action("create_task").clean_params({"title": "x", "assignee": "owner"}, spec)
    user = UserFactory()
    clean = registry.action("create_task").clean_params(
        {"title": "回款 {payment.amount}", "assignee": "user", "user": user.pk, "due_in_days": 2},
        spec,
    )
    assert clean["user"] == user.pk and clean["due_in_days"] == 2
