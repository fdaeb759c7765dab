"""Demo company, org part (DESIGN §6): departments, people, managers, roles.

`manage.py seed_demo` runs every app's `demo.py` seeders in order; later apps add their data
(and their roles' model permissions and data scopes) with `@seeder(order=...)` and the helpers
`role`, `grant_perms` and `set_scopes` below. Every seeder is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.models import Group, Permission

from .models import Department, User

DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo credential; README says change it


@dataclass
class DemoContext:
    users: dict[str, User] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    roles: dict[str, Group] = field(default_factory=dict)
    log: Callable[[str], None] = print  # noqa: T202


_seeders: list[tuple[int, str, Callable[[DemoContext], None]]] = []


def seeder(order: int):
    def register(fn):
        key = f"{fn.__module__}.{fn.__name__}"
        if key not in {k for _o, k, _f in _seeders}:
            _seeders.append((order, key, fn))
        return fn

    return register


def seeders() -> list[Callable[[DemoContext], None]]:
    return [fn for _o, _k, fn in sorted(_seeders, key=lambda s: (s[0], s[1]))]


def role(name: str) -> Group:
    group, _created = Group.objects.get_or_create(name=name)
    return group


def grant_perms(group: Group, perms: Iterable[str]) -> None:
    """perms: "app_label.codename" strings; each must exist."""
    for perm in perms:
        app_label, codename = perm.split(".", 1)
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def set_scopes(group: Group, scopes: dict[str, str]) -> None:
    """scopes: {"app_label.Model": "own" | "department" | "tree" | "all"}."""
    from .services import role_scope_set

    for label, scope in scopes.items():
        role_scope_set(role=group, model=apps.get_model(label), scope=scope)


# (username, display name, department, title, manager, roles, email)
PEOPLE = [
    ("ceo", "王建国", "总经办", "总经理", None, ["总经理"]),
    ("sales_director", "李娜", "销售部", "销售总监", "ceo", ["销售总监"]),
    ("sales1", "张伟", "销售部", "销售代表", "sales_director", ["销售代表"]),
    ("sales2", "刘洋", "销售部", "销售代表", "sales_director", ["销售代表"]),
    ("finance", "陈静", "财务部", "财务经理", "ceo", ["财务"]),
    ("service", "赵敏", "客服部", "客服主管", "ceo", ["客服"]),
    ("marketing", "孙丽", "市场部", "市场经理", "ceo", ["市场"]),
    ("hr", "周婷", "人事部", "人事经理", "ceo", ["人事"]),
]
DEPARTMENTS = ["总经办", "销售部", "市场部", "财务部", "客服部", "人事部"]
HEADS = {
    "总经办": "ceo",
    "销售部": "sales_director",
    "市场部": "marketing",
    "财务部": "finance",
    "客服部": "service",
    "人事部": "hr",
}
ROLES = ["总经理", "销售总监", "销售代表", "财务", "客服", "市场", "人事"]


@seeder(order=0)
def seed_org(ctx: DemoContext) -> None:
    for order, name in enumerate(DEPARTMENTS):
        dept, _created = Department.objects.get_or_create(
            name=name, parent=None, defaults={"order": order}
        )
        ctx.departments[name] = dept
    for name in ROLES:
        ctx.roles[name] = role(name)
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={
            "display_name": "系统管理员",
            "is_staff": True,
            "is_superuser": True,
            "email": "admin@weft.local",
            "department": ctx.departments["总经办"],
        },
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    ctx.users["admin"] = admin
    for username, display, dept, title, _manager, role_names in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "display_name": display,
                "department": ctx.departments[dept],
                "title": title,
                "email": f"{username}@weft.local",
                "mobile": f"1380000{len(ctx.users):04d}",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(*(ctx.roles[r] for r in role_names))
        ctx.users[username] = user
    for username, _display, _dept, _title, manager, _roles in PEOPLE:
        if manager and ctx.users[username].manager_id != ctx.users[manager].pk:
            ctx.users[username].manager = ctx.users[manager]
            ctx.users[username].save(update_fields=["manager"])
    for dept_name, head in HEADS.items():
        dept = ctx.departments[dept_name]
        if dept.head_id != ctx.users[head].pk:
            dept.head = ctx.users[head]
            dept.save(update_fields=["head"])
    # Everyone may browse the company directory; HR maintains people.
    for name in ROLES:
        grant_perms(ctx.roles[name], ["org.view_user", "org.view_department"])
    grant_perms(
        ctx.roles["人事"],
        ["org.add_user", "org.change_user", "org.change_department", "org.add_department"],
    )
    ctx.log(f"org: {len(DEPARTMENTS)} departments, {len(PEOPLE) + 1} users, {len(ROLES)} roles")
