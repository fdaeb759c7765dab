"""A room is never double-booked, even under 20 parallel requests (PostgreSQL: real threads
with their own connections; the exclusion constraint backs the service's lock)."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from apps.tasks.models import Event

from .calendar_fixtures import (
    at,
    book,
    cal_fixture,  # noqa: F401 - the `cal` fixture
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_twenty_parallel_bookings_of_one_room_make_one_event(cal):
    users = [cal.rep, cal.peer, cal.attendee, cal.other, cal.director] * 4

    def post(user, i):
        client = APIClient()
        client.force_authenticate(user)
        # Every request overlaps every other: 10:00–11:00 shifted by up to 19 minutes.
        start, end = at(10, i), at(11, i)
        body = {
            "title": f"抢会议室 {i}",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "meeting_room": cal.room.pk,
        }
        return client.post("/api/v1/events/", body, format="json")

    responses = run_together([(lambda u=u, i=i: post(u, i)) for i, u in enumerate(users)])

    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [201] + [400] * 19, [getattr(r, "content", r) for r in responses]
    for r in responses:
        if r.status_code == 400:
            assert list(r.json()) == ["meeting_room"]
    assert Event.objects.filter(meeting_room=cal.room).count() == 1


def test_parallel_moves_into_one_slot_leave_one(cal):
    events = [
        book(cal.rep, at(8 + i, 0, days=2), at(8 + i, 30, days=2), room=cal.room) for i in range(6)
    ]

    def move(event):
        client = APIClient()
        client.force_authenticate(cal.rep)
        body = {"start": at(15).isoformat(), "end": at(16).isoformat()}
        return client.patch(f"/api/v1/events/{event.pk}/", body, format="json")

    responses = run_together([(lambda e=e: move(e)) for e in events])

    assert sorted(r.status_code for r in responses) == [200] + [400] * 5
    assert Event.objects.filter(meeting_room=cal.room).between(at(15), at(16)).count() == 1


def test_the_database_refuses_an_overlap_that_skips_the_service(cal):
    first = book(cal.rep, at(10), at(11), room=cal.room)
    clash = Event(
        title="绕过服务",
        start=at(10, 30),
        end=at(11, 30),
        organizer=cal.peer,
        meeting_room=cal.room,
    )
    with pytest.raises(IntegrityError, match="tasks_event_room_no_overlap"):
        with transaction.atomic():
            clash.save()
    # Cancelled events and other rooms do not count; touching ends do not overlap.
    Event.objects.filter(pk=first.pk).update(status="cancelled")
    clash.save()
    Event.objects.create(
        title="隔壁", start=at(10), end=at(11), organizer=cal.peer, meeting_room=cal.small
    )
    Event.objects.create(
        title="接着", start=at(11, 30), end=at(12), organizer=cal.peer, meeting_room=cal.room
    )
