"""Demo tasks (DESIGN §6): every role may keep tasks (own scope), the sales director sees the
sales tree, the CEO everything. Tasks with subtasks (two levels), comments with @mentions,
customer links, some overdue and some due today (so the inbox shows them), a weekly repeating
one. Made through the services (history, roll-up, notifications as in real use);
deterministic and idempotent (skipped when the demo tasks exist).
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

from . import (
    calendar_demo,  # noqa: F401 - registers the calendar seeder
    services,
)
from .models import Task

SEED = 20261106
MARKER = "整理本周销售周报"

CRUD = ("view", "add", "change")


def seed_roles(ctx: DemoContext) -> None:
    for name, role in ctx.roles.items():
        grant_perms(role, [f"tasks.{a}_task" for a in CRUD])
        if name in ("总经理", "销售总监"):
            grant_perms(role, ["tasks.delete_task"])
        scope = {"总经理": "all", "销售总监": "tree"}.get(name, "own")
        set_scopes(role, {"tasks.Task": scope})
    from apps.org.scopes import clear_caches

    for user in ctx.users.values():
        clear_caches(user)  # permissions granted just now


# (title, assignee, creator, priority, due in days (None: none), subtasks)
PLANS = [
    (
        MARKER,
        "sales1",
        "sales_director",
        "high",
        0,
        [("汇总华东区客户拜访记录", "sales1", []), ("更新商机阶段与预计金额", "sales1", [])],
    ),
    (
        "华北区年度客户回访计划",
        "sales2",
        "sales_director",
        "normal",
        10,
        [
            ("列出 A 级客户名单", "sales2", []),
            (
                "安排回访日程",
                "sales2",
                [("确认客户可约时间", "sales2"), ("预订会议室", "sales2")],
            ),
            ("准备回访礼品", "marketing", []),
        ],
    ),
    (
        "新产品发布会筹备",
        "marketing",
        "ceo",
        "urgent",
        14,
        [
            ("确定场地与日期", "marketing", []),
            (
                "邀请重点客户",
                "sales_director",
                [("整理邀请名单", "sales1"), ("发送邀请函", "sales2")],
            ),
            ("准备宣传物料", "marketing", []),
        ],
    ),
    ("核对十月回款与开票", "finance", "ceo", "high", -2, []),
    ("处理客户投诉回访", "service", "service", "normal", 0, []),
    (
        "季度员工满意度调查",
        "hr",
        "ceo",
        "low",
        21,
        [("设计问卷", "hr", []), ("汇总结果", "hr", [])],
    ),
    ("更新客服知识库常见问题", "service", "ceo", "normal", 5, []),
    (
        "准备董事会季度汇报",
        "ceo",
        "ceo",
        "high",
        3,
        [("财务数据", "finance", []), ("销售数据", "sales_director", [])],
    ),
    ("跟进重点客户合同续签", "sales1", "sales1", "urgent", -1, []),
    ("整理竞品价格信息", "sales2", "sales2", "normal", 1, []),
    ("新员工入职培训安排", "hr", "hr", "normal", 7, []),
    ("年度预算初稿", "finance", "ceo", "high", 30, []),
]

COMMENTS = [
    ("sales_director", "请本周五前完成，@张伟 有问题随时沟通。"),
    ("sales1", "收到，已经在整理了。"),
    ("ceo", "进度如何？@李娜 请关注一下。"),
    ("marketing", "场地已经有两个备选方案，明天确认。"),
]


@seeder(order=70)
def seed_tasks(ctx: DemoContext) -> None:
    seed_roles(ctx)
    if Task.objects.filter(title=MARKER).exists():
        ctx.log("tasks: demo tasks exist, skipped")
        return
    from apps.customers.models import Customer

    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    u = ctx.users
    now = timezone.localtime()
    today_17 = now.replace(hour=17, minute=0, second=0, microsecond=0)
    made = 0

    def customer_of(username):
        ids = list(
            Customer.objects.filter(owner=u[username])
            .order_by("pk")
            .values_list("pk", flat=True)[:30]
        )
        return Customer.objects.get(pk=rng.choice(ids)) if ids else None

    for title, assignee, creator, priority, days, subtasks in PLANS:
        due = today_17 + dt.timedelta(days=days) if days is not None else None
        data = {
            "title": title,
            "description": "",
            "assignee": u[assignee],
            "priority": priority,
            "due_at": due,
            "remind_at": due - dt.timedelta(hours=2) if due and days > 0 else None,
        }
        if assignee.startswith("sales"):
            data["customer"] = customer_of(assignee if assignee != "sales_director" else "sales1")
        task = services.task_create(by=u[creator], data=data)
        made += 1
        for sub_title, sub_assignee, grand in subtasks:
            sub = services.task_create(
                by=u[creator],
                data={"title": sub_title, "assignee": u[sub_assignee], "due_at": due},
                parent=task,
            )
            made += 1
            for g_title, g_assignee in grand:
                services.task_create(
                    by=u[creator],
                    data={"title": g_title, "assignee": u[g_assignee], "due_at": due},
                    parent=sub,
                )
                made += 1
    # Some progress so the roll-up shows: the first subtasks done, one in progress.
    for title in (
        "汇总华东区客户拜访记录",
        "列出 A 级客户名单",
        "确认客户可约时间",
        "确定场地与日期",
    ):
        sub = Task.objects.get(title=title)
        services.task_set_status(task=sub, status=Task.Status.DONE, by=sub.assignee)
    doing = Task.objects.get(title="准备宣传物料")
    services.task_set_status(task=doing, status=Task.Status.DOING, by=doing.assignee)
    finished = Task.objects.get(title="整理竞品价格信息")
    services.task_set_status(task=finished, status=Task.Status.DOING, by=finished.assignee)
    # A weekly report that repeats.
    services.task_create(
        by=u["sales_director"],
        data={
            "title": "提交销售周报",
            "assignee": u["sales2"],
            "priority": "normal",
            "due_at": today_17 + dt.timedelta(days=(4 - now.weekday()) % 7),
            "repeat": Task.Repeat.WEEKLY,
        },
    )
    made += 1
    # Feedback with @mentions.
    marker = Task.objects.get(title=MARKER)
    launch = Task.objects.get(title="新产品发布会筹备")
    for (author, body), task in zip(COMMENTS, (marker, marker, launch, launch), strict=True):
        services.comment_add(task=task, by=u[author], body=body)
    ctx.log(f"tasks: {made} tasks with subtasks and comments")
