"""Demo company, calendar part (DESIGN §6): meeting rooms, the roles' calendar permissions and
a month of meetings — weekly sales meetings, customer visits linked to customers, interviews,
a finance review, a cancelled meeting — some in the past, most in the coming weeks."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from apps.customers.models import Customer
from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes
from apps.org.errors import ServiceError
from apps.org.scopes import clear_caches

from . import calendar_services as services
from .models import Event, MeetingRoom

SEED = 6060
ROOMS = [
    # name, location, capacity, equipment, bookable
    ("大会议室", "3 楼东侧", 20, ["投影仪", "视频会议", "白板"], True),
    ("小会议室 A", "3 楼 301", 6, ["电视", "白板"], True),
    ("小会议室 B", "3 楼 302", 6, ["白板"], True),
    ("洽谈室", "1 楼前台旁", 4, ["电视"], True),
    ("培训室", "5 楼", 30, ["投影仪", "音响"], False),
]
EVENT_PERMS = ["tasks.view_event", "tasks.add_event", "tasks.change_event", "tasks.delete_event"]


def seed_roles(ctx: DemoContext) -> None:
    for role in ctx.roles.values():
        grant_perms(role, EVENT_PERMS)
    set_scopes(ctx.roles["总经理"], {"tasks.Event": "all"})
    set_scopes(ctx.roles["销售总监"], {"tasks.Event": "tree"})
    # HR runs the office: it keeps the room list too (the admin site stays for superusers).
    grant_perms(
        ctx.roles["人事"],
        ["tasks.add_meetingroom", "tasks.change_meetingroom", "tasks.delete_meetingroom"],
    )
    for user in ctx.users.values():
        clear_caches(user)


def seed_rooms() -> dict[str, MeetingRoom]:
    rooms = {}
    for order, (name, location, capacity, equipment, active) in enumerate(ROOMS):
        room, _created = MeetingRoom.objects.get_or_create(
            name=name,
            defaults={
                "location": location,
                "capacity": capacity,
                "equipment": equipment,
                "is_active": active,
                "order": order,
            },
        )
        rooms[name] = room
    return rooms


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def seed_events(ctx: DemoContext, rooms: dict[str, MeetingRoom], rng: random.Random) -> int:
    u = ctx.users
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    made = 0

    def add(
        by,
        title,
        start,
        minutes,
        *,
        room=None,
        attendees=(),
        customer=None,
        location="",
        description="",
    ):
        nonlocal made
        try:
            event = services.event_create(
                by=by,
                data={
                    "title": title,
                    "start": start,
                    "end": start + dt.timedelta(minutes=minutes),
                    "meeting_room": rooms.get(room) if room else None,
                    "attendees": [u[a] for a in attendees],
                    "customer": customer,
                    "location": location,
                    "description": description,
                },
            )
        except ServiceError:
            return None  # the room is taken at that time: leave this one out
        made += 1
        return event

    sales = ["sales_director", "sales1", "sales2"]
    for week in range(-2, 4):
        day = monday + dt.timedelta(weeks=week)
        add(
            u["sales_director"],
            "销售周例会",
            _at(day, 9, 30),
            60,
            room="大会议室",
            attendees=[s for s in sales if s != "sales_director"] + ["marketing"],
            description="上周回款、本周重点客户、商机推进。",
        )
        add(
            u["ceo"],
            "经营管理周会",
            _at(day + dt.timedelta(days=4), 16),
            90,
            room="大会议室",
            attendees=["sales_director", "finance", "service", "marketing", "hr"],
        )
    for rep in ("sales1", "sales2"):
        customers = list(Customer.objects.filter(owner=u[rep]).order_by("pk")[:6])
        for i, customer in enumerate(customers):
            day = today + dt.timedelta(days=rng.randint(-10, 20))
            if day.weekday() >= 5:
                day += dt.timedelta(days=2)
            visit = i % 2 == 0
            add(
                u[rep],
                f"{'拜访' if visit else '洽谈'}：{customer.name}",
                _at(day, rng.choice([10, 14, 15])),
                90 if visit else 60,
                room=None if visit else "洽谈室",
                attendees=["sales_director"] if i % 3 == 0 else [],
                customer=customer,
                location=(customer.city or customer.province or "客户现场") if visit else "",
                description="演示方案，确认采购时间表。" if visit else "报价与合同条款沟通。",
            )
    for i in range(4):
        day = today + dt.timedelta(days=1 + i * 2)
        if day.weekday() >= 5:
            day += dt.timedelta(days=2)
        add(
            u["hr"],
            f"候选人面试（销售代表 #{i + 1}）",
            _at(day, 11),
            45,
            room="小会议室 A",
            attendees=["sales_director"],
        )
    add(
        u["finance"],
        "月度回款对账",
        _at(monday + dt.timedelta(days=9), 14),
        60,
        room="小会议室 B",
        attendees=["sales_director", "sales1", "sales2"],
    )
    add(
        u["service"],
        "客服工单复盘",
        _at(monday + dt.timedelta(days=3), 15),
        60,
        room="小会议室 B",
        attendees=["ceo"],
    )
    add(
        u["marketing"],
        "展会筹备",
        _at(monday + dt.timedelta(days=8), 10),
        120,
        attendees=["sales1", "sales2"],
        location="市场部",
    )
    cancelled = add(
        u["sales1"],
        "产品培训（改期）",
        _at(monday + dt.timedelta(days=10), 15),
        60,
        room="小会议室 A",
        attendees=["sales2"],
    )
    if cancelled is not None:
        services.event_cancel(event=cancelled, by=u["sales1"], reason="讲师出差，改期另行通知")
    # A few answers, so invitations show every state.
    for event in Event.objects.filter(attendance__isnull=False).distinct().order_by("pk")[:12]:
        rows = list(event.attendance.select_related("user"))
        for row in rows[:2]:
            if event.is_cancelled:
                continue
            response = rng.choice(["accepted", "accepted", "tentative", "declined"])
            services.event_respond(event=event, by=row.user, response=response)
    return made


@seeder(order=70)
def seed_calendar(ctx: DemoContext) -> None:
    seed_roles(ctx)
    rooms = seed_rooms()
    if Event.objects.exists():
        ctx.log(f"calendar: {len(rooms)} rooms; events already there")
        return
    made = seed_events(ctx, rooms, random.Random(SEED))  # noqa: S311 - demo data
    ctx.log(f"calendar: {len(rooms)} meeting rooms, {made} events")
