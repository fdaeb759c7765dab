"""A small company for the calendar tests (imported by the test_calendar_* modules).

销售部 (sales) ─ 华东组 (east): rep (organiser, own scope), peer (own scope), attendee
director: head of 销售部, tree scope on events        other: 财务部, own scope
nobody: no calendar permission                         office: manages meeting rooms
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.org.models import Department, Scope, User
from apps.tasks import calendar_services as services
from apps.tasks.models import Event, MeetingRoom
from tests.org.factories import DepartmentFactory, UserFactory, make_role

EVENT_ACTIONS = ("view", "add", "change", "delete")


@dataclass
class Cal:
    sales: Department
    east: Department
    finance: Department
    rep: User
    peer: User
    attendee: User
    director: User
    other: User
    nobody: User
    office: User
    room: MeetingRoom
    small: MeetingRoom


@pytest.fixture(name="cal")
def cal_fixture(db) -> Cal:
    sales = DepartmentFactory(name="销售部")
    east = DepartmentFactory(name="华东组", parent=sales)
    finance = DepartmentFactory(name="财务部")
    director = UserFactory(username="director", department=sales)
    rep = UserFactory(username="rep", department=east, manager=director)
    peer = UserFactory(username="peer", department=east, manager=director)
    attendee = UserFactory(username="attendee", department=east)
    other = UserFactory(username="other", department=finance)
    nobody = UserFactory(username="nobody", department=east)
    office = UserFactory(username="office", department=finance)
    make_role(
        "staff",
        Event,
        actions=EVENT_ACTIONS,
        scope=Scope.OWN,
        members=[rep, peer, attendee, other, office],
    )
    make_role("managers", Event, actions=EVENT_ACTIONS, scope=Scope.TREE, members=[director])
    make_role("office", MeetingRoom, actions=("view", "add", "change", "delete"), members=[office])
    room = MeetingRoom.objects.create(
        name="大会议室", capacity=12, equipment=["投影仪"], location="3F"
    )
    small = MeetingRoom.objects.create(name="洽谈室", capacity=4)
    return Cal(
        sales, east, finance, rep, peer, attendee, director, other, nobody, office, room, small
    )


def at(hour: int, minute: int = 0, days: int = 1) -> dt.datetime:
    """Local time `hour:minute`, `days` from today (tomorrow by default)."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def book(by, start, end, *, room=None, attendees=(), title="周会", **extra) -> Event:
    return services.event_create(
        by=by,
        data={
            "title": title,
            "start": start,
            "end": end,
            "meeting_room": room,
            "attendees": list(attendees),
            **extra,
        },
    )


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
