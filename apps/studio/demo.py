"""Demo automation rules (DESIGN §6 and the brief). Each rule is created only when the models
and actions it needs are registered, so the demo works on any subset of apps; idempotent."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.org.demo import DemoContext, seeder

from .automation import registry
from .models import AutomationRule, RuleAction


def _rule(name: str, label: str, *, actions: list[tuple[str, dict]], **fields):
    spec = registry.spec_for(label)
    if spec is None or AutomationRule.objects.filter(name=name).exists():
        return None
    usable = [
        (k, p) for k, p in actions if registry.action(k) and registry.action(k).applies_to(spec)
    ]
    if not usable:
        return None
    with transaction.atomic():
        rule = AutomationRule.objects.create(
            name=name, content_type=ContentType.objects.get_for_model(spec.model), **fields
        )
        for order, (kind, params) in enumerate(usable):
            action = RuleAction(rule=rule, kind=kind, params=params, order=order)
            try:
                action.full_clean()
            except ValidationError:
                # e.g. a placeholder field the owning app does not whitelist (yet)
                continue
            action.save()
        if not rule.actions.exists():
            rule.delete()
            return None
    return rule


@seeder(order=90)
def seed_automation(ctx: DemoContext) -> None:
    users = ctx.users
    service = users.get("service")
    made = []
    made.append(
        _rule(
            "签约客户：欢迎短信 + 回访任务",
            "customers.customer",
            trigger="field_changed",
            trigger_field="status",
            to_value="signed",
            description="客户状态变为“已签约”时，给客户发欢迎短信，并给负责人建回访任务。",
            actions=[
                (
                    "send_sms",
                    {"to_field": "phone", "message": "{customer.name}，欢迎成为我们的客户！"},
                ),
                (
                    "create_task",
                    {
                        "title": "欢迎回访：{customer.name}",
                        "description": "客户已签约，请在3天内完成首次回访。",
                        "assignee": "owner",
                        "due_in_days": 3,
                    },
                ),
                ("notify", {"owner": True, "message": "{customer.name} 已签约，请安排欢迎回访。"}),
            ],
        )
    )
    made.append(
        _rule(
            "跟进提醒：下次跟进前3天",
            "customers.customer",
            trigger="schedule",
            schedule_field="next_follow_up_at",
            schedule_offset_days=-3,
            description="下次跟进日期前3天提醒负责人。",
            actions=[
                (
                    "notify",
                    {"owner": True, "message": "3天后需跟进 {customer.name}（{customer.level}）"},
                )
            ],
        )
    )
    # DESIGN §6: an approved contract → "Onboard <customer>" task for service, finance notified.
    if service is not None:
        made.append(
            _rule(
                "合同审批通过：交付任务 + 通知财务",
                "sales.contract",
                trigger="field_changed",
                trigger_field="status",
                to_value="approved",
                actions=[
                    (
                        "create_task",
                        {
                            "title": "Onboard {contract.customer}",
                            "assignee": "user",
                            "user": service.pk,
                            "due_in_days": 3,
                        },
                    ),
                    (
                        "notify",
                        {
                            "roles": ["财务"],
                            "message": "合同 {contract.number} 已审批通过，请跟进开票与回款。",
                        },
                    ),
                ],
            )
        )
    ctx.log(f"automation rules: {sum(1 for r in made if r is not None)} created")
