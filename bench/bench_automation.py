"""Automation: rule evaluation throughput with 200 active rules on one model.

200 rules on customers.customer: a third "created", a third "status changed to …", a third
"updated" — each with two or three conditions (level, province, a custom decimal field), about
5 % of them matching a typical event. Measured:

1. In-process matching (trigger + conditions) of 5,000 events against the 200 rules: what a
   worker spends per event before any action runs. Reported as events/s.
2. The whole evaluation step as the worker runs it: outbox row locked and read, record loaded,
   200 rules matched, RuleRun rows written for the matches — 1,000 events, each its own
   transaction. Reported as events/s and runs created.

Everything created is deleted at the end.
"""

from __future__ import annotations

import random
import time

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from apps.customers.models import Customer
from apps.studio.automation import engine, registry
from apps.studio.models import (
    AutomationEvent,
    AutomationRule,
    FieldDefinition,
    RuleAction,
    RuleCondition,
    RuleRun,
)

TAG = "bench-automation"
LEVELS = ["A", "B", "C", "D"]
PROVINCES = ["上海", "江苏", "浙江", "北京", "广东", "四川", "湖北", "山东"]
STATUSES = ["potential", "following", "signed", "lost"]


def _setup(rng: random.Random):
    ct = ContentType.objects.get_for_model(Customer)
    FieldDefinition.objects.get_or_create(
        content_type=ct, key="bench_budget", defaults={"label": "Budget", "type": "decimal"}
    )
    rules = []
    for i in range(200):
        kind = ("created", "field_changed", "updated")[i % 3]
        rule = AutomationRule.objects.create(
            name=f"{TAG} {i}",
            content_type=ct,
            trigger=kind,
            trigger_field="status" if kind == "field_changed" else "",
            to_value=rng.choice(STATUSES) if kind == "field_changed" else "",
            match="any" if i % 10 == 0 else "all",
        )
        conds = [
            RuleCondition(rule=rule, field="level", operator="eq", value=rng.choice(LEVELS)),
            RuleCondition(
                rule=rule, field="province", operator="in", value=",".join(rng.sample(PROVINCES, 2))
            ),
        ]
        if i % 3 == 0:
            conds.append(
                RuleCondition(
                    rule=rule,
                    field="custom.bench_budget",
                    operator="gt",
                    value=str(rng.randint(1000, 90000)),
                )
            )
        RuleCondition.objects.bulk_create(conds)
        RuleAction.objects.create(
            rule=rule, kind="notify", params={"owner": True, "message": "{customer.name}"}
        )
        rules.append(rule)
    registry.rules_changed()
    customers = [
        Customer.objects.create(
            name=f"{TAG} 客户 {n}",
            level=rng.choice(LEVELS),
            province=rng.choice(PROVINCES),
            status=rng.choice(STATUSES),
            custom={"bench_budget": str(rng.randint(0, 100000))},
        )
        for n in range(200)
    ]
    return ct, customers


def main() -> None:
    rng = random.Random(7)
    ct, customers = _setup(rng)
    spec = registry.spec_for(Customer)
    assert len(registry.rules_for(spec.label)) >= 200  # noqa: S101
    try:
        events = []
        for _ in range(5000):
            c = rng.choice(customers)
            created = rng.random() < 0.3
            changes = {} if created else {"status": [rng.choice(STATUSES), c.status]}
            events.append((c, created, changes))
        matched = 0
        t0 = time.perf_counter()
        for c, created, changes in events:
            matched += len(engine.matching_rules(spec, c, created=created, changes=changes))
        dt = time.perf_counter() - t0
        print(
            f"matching, 200 rules: {len(events) / dt:,.0f} events/s "
            f"({dt / len(events) * 1e6:.0f} µs/event, "
            f"{matched / len(events):.1f} rules matched/event)"
        )

        rows = [
            AutomationEvent(content_type=ct, object_id=c.pk, created=created, changes=changes)
            for c, created, changes in events[:1000]
        ]
        AutomationEvent.objects.bulk_create(rows)
        ids = list(
            AutomationEvent.objects.filter(content_type=ct, status="pending")
            .order_by("pk")
            .values_list("pk", flat=True)[:1000]
        )
        t0 = time.perf_counter()
        runs = 0
        for pk in ids:
            runs += len(engine.evaluate(pk))
        dt = time.perf_counter() - t0
        print(
            f"evaluate step (DB, 1 transaction/event): {len(ids) / dt:,.0f} events/s "
            f"({dt / len(ids) * 1e3:.2f} ms/event), {runs} runs created"
        )
    finally:
        with transaction.atomic():
            RuleRun.objects.filter(rule__name__startswith=TAG).delete()
            AutomationEvent.objects.filter(
                content_type=ct, object_id__in=[c.pk for c in customers]
            ).delete()
            AutomationRule.objects.filter(name__startswith=TAG).delete()
            Customer.objects.filter(name__startswith=TAG).delete()
            FieldDefinition.objects.filter(content_type=ct, key="bench_budget").delete()
