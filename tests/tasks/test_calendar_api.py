"""/api/v1/events/ and /api/v1/meeting-rooms/: shape, scope, the permission matrix of every
mutating endpoint (anonymous / no permission / other department / organiser / manager,
asserting the status and that nothing changed), the booking rule as a 400, free slots."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tasks.models import Event, EventAttendee, MeetingRoom

from .calendar_fixtures import (
    at,
    book,
    cal_fixture,  # noqa: F401 - the `cal` fixture
    client_for,
)

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "nobody", "other", "rep", "director")


def caller(cal, who):
    return None if who == "anonymous" else getattr(cal, who)


def matrix(*statuses):
    return list(zip(CALLERS, statuses, strict=True))


@pytest.fixture
def event(cal):
    return book(cal.rep, at(10), at(11), room=cal.room, attendees=[cal.attendee])


def snapshot(event) -> tuple:
    event.refresh_from_db()
    return (event.title, event.start, event.status, event.meeting_room_id, event.sequence)


def test_event_shape(cal, event):
    r = client_for(cal.rep).get(f"/api/v1/events/{event.pk}/")
    assert r.status_code == 200
    data = r.json()
    assert {"id", "title", "start", "end", "attendees", "meeting_room"} <= set(data)
    assert data["attendees"] == [cal.attendee.pk]
    assert data["meeting_room"] == cal.room.pk
    assert data["organizer"] == cal.rep.pk
    assert data["attendance"][0]["response"] == "pending"


@pytest.mark.parametrize(("who", "status"), matrix(401, 403, 201, 201, 201))
def test_create_event(cal, who, status):
    body = {
        "title": "客户拜访",
        "start": at(14).isoformat(),
        "end": at(15).isoformat(),
        "attendees": [cal.attendee.pk],
        "meeting_room": cal.small.pk,
    }
    r = client_for(caller(cal, who)).post("/api/v1/events/", body, format="json")
    assert r.status_code == status, r.content
    assert Event.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        assert r.json()["organizer"] == getattr(cal, who).pk


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 200, 200))
def test_update_event(cal, event, who, status):
    before = snapshot(event)
    r = client_for(caller(cal, who)).patch(
        f"/api/v1/events/{event.pk}/", {"title": "改了"}, format="json"
    )
    assert r.status_code == status, r.content
    after = snapshot(event)
    assert (after[0] == "改了") if status == 200 else (after == before)


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 204, 204))
def test_delete_cancels(cal, event, who, status):
    r = client_for(caller(cal, who)).delete(f"/api/v1/events/{event.pk}/")
    assert r.status_code == status
    event.refresh_from_db()
    assert event.status == ("cancelled" if status == 204 else "confirmed")
    assert Event.objects.count() == 1  # kept as history


@pytest.mark.parametrize(("who", "status"), matrix(401, 404, 404, 200, 200))
def test_cancel_action(cal, event, who, status):
    r = client_for(caller(cal, who)).post(
        f"/api/v1/events/{event.pk}/cancel/", {"reason": "改期"}, format="json"
    )
    assert r.status_code == status
    event.refresh_from_db()
    assert event.status == ("cancelled" if status == 200 else "confirmed")


def test_attendee_reads_and_answers_but_cannot_change(cal, event):
    client = client_for(cal.attendee)
    assert client.get(f"/api/v1/events/{event.pk}/").status_code == 200
    before = snapshot(event)
    assert (
        client.patch(f"/api/v1/events/{event.pk}/", {"title": "x"}, format="json").status_code
        == 403
    )
    assert client.post(f"/api/v1/events/{event.pk}/cancel/").status_code == 403
    assert snapshot(event) == before
    r = client.post(f"/api/v1/events/{event.pk}/respond/", {"response": "accepted"}, format="json")
    assert r.status_code == 200
    assert EventAttendee.objects.get(event=event, user=cal.attendee).response == "accepted"
    bad = client.post(f"/api/v1/events/{event.pk}/respond/", {"response": "x"}, format="json")
    assert bad.status_code == 400 and "response" in bad.json()
    # The organiser is not an attendee; others cannot see the event at all.
    assert (
        client_for(cal.rep)
        .post(f"/api/v1/events/{event.pk}/respond/", {"response": "accepted"}, format="json")
        .status_code
        == 400
    )
    assert (
        client_for(cal.other)
        .post(f"/api/v1/events/{event.pk}/respond/", {"response": "accepted"}, format="json")
        .status_code
        == 404
    )
    assert client_for(None).post(f"/api/v1/events/{event.pk}/respond/").status_code == 401


def test_double_booking_is_a_400_on_meeting_room(cal, event):
    body = {
        "title": "抢会议室",
        "start": at(10, 30).isoformat(),
        "end": at(11, 30).isoformat(),
        "meeting_room": cal.room.pk,
    }
    r = client_for(cal.peer).post("/api/v1/events/", body, format="json")
    assert r.status_code == 400
    assert list(r.json()) == ["meeting_room"]
    assert Event.objects.count() == 1
    other = book(cal.peer, at(12), at(13), room=cal.room)
    r = client_for(cal.peer).patch(
        f"/api/v1/events/{other.pk}/", {"start": at(10, 30).isoformat()}, format="json"
    )
    assert r.status_code == 400 and "meeting_room" in r.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"title": "", "start": "2030-01-01T10:00:00+08:00", "end": "2030-01-01T11:00:00+08:00"},
            "title",
        ),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T09:00:00+08:00",
            },
            "end",
        ),
        ({"title": "会", "start": "not a date", "end": "2030-01-01T11:00:00+08:00"}, "start"),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T11:00:00+08:00",
                "attendees": [999999],
            },
            "attendees",
        ),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T11:00:00+08:00",
                "attendees": "x",
            },
            "attendees",
        ),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T11:00:00+08:00",
                "meeting_room": 999999,
            },
            "meeting_room",
        ),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T11:00:00+08:00",
                "customer": 999999,
            },
            "customer",
        ),
        (
            {
                "title": "会",
                "start": "2030-01-01T10:00:00+08:00",
                "end": "2030-01-01T11:00:00+08:00",
                "record_type": "x.y",
                "record_id": 1,
            },
            "record_type",
        ),
    ],
)
def test_bad_input_is_400_with_field_errors(cal, body, field):
    r = client_for(cal.rep).post("/api/v1/events/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()
    assert Event.objects.count() == 0


def test_list_is_scoped_and_filtered(cal, event):
    mine_only = book(cal.peer, at(16), at(17))
    theirs = book(cal.other, at(9), at(10))

    def ids(user, query=""):
        r = client_for(user).get(f"/api/v1/events/{query}")
        assert r.status_code == 200
        return sorted(row["id"] for row in r.json()["results"])

    assert ids(cal.rep) == [event.pk]
    assert ids(cal.attendee) == [event.pk]
    assert ids(cal.director) == sorted([event.pk, mine_only.pk])  # department tree
    assert ids(cal.other) == [theirs.pk]
    assert ids(cal.director, "?mine=1") == []
    assert ids(cal.director, f"?meeting_room={cal.room.pk}") == [event.pk]
    start = at(15).isoformat().replace("+", "%2B")
    assert ids(cal.director, f"?start={start}") == [mine_only.pk]
    assert client_for(cal.rep).get("/api/v1/events/?start=yesterday").status_code == 400
    assert client_for(cal.nobody).get("/api/v1/events/").status_code == 403


def test_list_query_count_does_not_grow(cal):
    def count():
        client = client_for(cal.rep)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/events/").status_code == 200
        return len(ctx)

    book(cal.rep, at(9), at(10), attendees=[cal.attendee])
    count()  # warm the content-type cache
    few = count()
    for h in (11, 13, 14, 15):
        book(cal.rep, at(h), at(h, 30), room=cal.room, attendees=[cal.attendee, cal.peer])
    assert count() == few


def test_free_slots_action(cal, event):
    book(cal.attendee, at(14), at(15))
    day = at(0).date().isoformat()
    client = client_for(cal.rep)
    r = client.get(f"/api/v1/events/free-slots/?date={day}&duration=60&attendees={cal.attendee.pk}")
    assert r.status_code == 200, r.content
    rows = r.json()["results"]
    assert len(rows) == 1 and rows[0]["room"] is None
    spans = [(s["start"][11:16], s["end"][11:16]) for s in rows[0]["slots"]]
    assert spans == [("09:00", "10:00"), ("11:00", "14:00"), ("15:00", "18:00")]
    r = client.get(f"/api/v1/events/free-slots/?date={day}&duration=60&rooms={cal.room.pk}")
    rows = r.json()["results"]
    assert [row["room"] for row in rows] == [cal.room.pk]
    assert rows[0]["slots"][0]["end"][11:16] == "10:00"
    bad = client.get("/api/v1/events/free-slots/?date=nope&duration=3")
    assert bad.status_code == 400 and set(bad.json()) == {"date", "duration"}
    assert (
        client.get(f"/api/v1/events/free-slots/?date={day}&duration=60&rooms=a").status_code == 400
    )
    assert (
        client_for(None).get(f"/api/v1/events/free-slots/?date={day}&duration=60").status_code
        == 401
    )


# --- meeting rooms ---------------------------------------------------------------------------


def test_everyone_signed_in_reads_rooms(cal):
    r = client_for(cal.nobody).get("/api/v1/meeting-rooms/")
    assert r.status_code == 200
    assert [row["name"] for row in r.json()["results"]] == ["洽谈室", "大会议室"] or r.json()[
        "count"
    ] == 2
    assert client_for(None).get("/api/v1/meeting-rooms/").status_code == 401


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("nobody", 403), ("rep", 403), ("office", 201)]
)
def test_create_room(cal, who, status):
    body = {"name": "新会议室", "capacity": 8, "equipment": ["电视"]}
    r = client_for(caller(cal, who)).post("/api/v1/meeting-rooms/", body, format="json")
    assert r.status_code == status
    assert MeetingRoom.objects.filter(name="新会议室").exists() == (status == 201)


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("nobody", 403), ("rep", 403), ("office", 200)]
)
def test_update_room(cal, who, status):
    r = client_for(caller(cal, who)).patch(
        f"/api/v1/meeting-rooms/{cal.small.pk}/", {"capacity": 5}, format="json"
    )
    assert r.status_code == status
    cal.small.refresh_from_db()
    assert cal.small.capacity == (5 if status == 200 else 4)


def test_room_bad_input_and_delete_rules(cal, event):
    office = client_for(cal.office)
    r = office.post("/api/v1/meeting-rooms/", {"name": "大会议室", "capacity": 0}, format="json")
    assert r.status_code == 400 and {"name", "capacity"} <= set(r.json())
    assert office.delete(f"/api/v1/meeting-rooms/{cal.room.pk}/").status_code == 400
    assert client_for(cal.rep).delete(f"/api/v1/meeting-rooms/{cal.small.pk}/").status_code == 403
    assert office.delete(f"/api/v1/meeting-rooms/{cal.small.pk}/").status_code == 204


def test_room_bookings_hide_titles_of_events_one_cannot_see(cal, event):
    day = at(0).date().isoformat()
    own = client_for(cal.rep).get(f"/api/v1/meeting-rooms/{cal.room.pk}/bookings/?date={day}")
    theirs = client_for(cal.other).get(f"/api/v1/meeting-rooms/{cal.room.pk}/bookings/?date={day}")
    assert own.json()[0]["title"] == "周会" and own.json()[0]["visible"] is True
    assert theirs.json()[0]["title"] == "Booked" and theirs.json()[0]["visible"] is False
