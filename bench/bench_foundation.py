"""Foundation: cost of the per-request permission and custom-field machinery.

Measures, inside a transaction that is rolled back:
- field_access(user, Model) with 10 field policies (cached path, what every form/serializer pays);
- department_tree_ids over a 61-department tree (what a "department tree" data scope pays once
  per request);
- clean_value over eight custom-field types (what every custom-field write pays), in values/s.
List/detail page timings come with the domain apps' benchmarks (customers, sales, ...).
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from apps.org.fields import field_access
from apps.org.models import Department, FieldPolicy, User
from apps.org.scopes import department_tree_ids
from apps.studio.models import FieldDefinition

from .util import report, timed


class Rollback(Exception):
    pass


def main() -> None:
    try:
        with transaction.atomic():
            _run()
            raise Rollback
    except Rollback:
        pass


def _run() -> None:
    ct = ContentType.objects.get_for_model(FieldDefinition)
    root = Department.objects.create(name="bench-root")
    parents = [root]
    for i in range(60):  # a 60-department company
        parents.append(Department.objects.create(name=f"bench-{i}", parent=parents[i // 3]))
    role = Group.objects.create(name="bench-role")
    user = User.objects.create_user("bench-user", department=root)
    user.groups.add(role)
    for i, name in enumerate(
        [
            "label",
            "key",
            "type",
            "regex",
            "help_text",
            "section",
            "order",
            "min_value",
            "max_value",
            "default",
        ]
    ):
        FieldPolicy.objects.create(
            content_type=ct, field_name=name, restrict_view=i % 2 == 0, restrict_change=True
        )
    perm = Permission.objects.create(
        content_type=ct, codename="view_fielddefinition__label", name="bench"
    )
    role.permissions.add(perm)
    report(
        "field_access(user, Model), 10 policies, warm cache",
        timed(lambda: field_access(user, FieldDefinition), repeat=2000),
    )
    report(
        "department_tree_ids(root) over 61 departments (1 query)",
        timed(lambda: department_tree_ids(root.pk), repeat=500),
    )

    from apps.studio.validation import clean_value

    defs = [
        FieldDefinition(key="t", label="t", type="text", regex=r"[A-Z]\d+"),
        FieldDefinition(key="i", label="i", type="integer", min_value=Decimal(0)),
        FieldDefinition(key="d", label="d", type="decimal", decimal_places=2),
        FieldDefinition(key="dt", label="dt", type="date"),
        FieldDefinition(key="b", label="b", type="boolean"),
        FieldDefinition(
            key="c",
            label="c",
            type="choice",
            choices=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
        ),
        FieldDefinition(key="e", label="e", type="email"),
        FieldDefinition(key="p", label="p", type="phone"),
    ]
    values = ["A123", "42", "12.50", "2026-11-23", "yes", "a", "a@b.cn", "+86 138 0000 0000"]
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n // len(defs)):
        for d, v in zip(defs, values, strict=True):
            clean_value(d, v, check_unique=False)
    elapsed = time.perf_counter() - t0
    print(f"{'clean_value over 8 field types':<58} {n / elapsed:10.0f} values/s")
