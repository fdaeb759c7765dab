"""Calendar pages: the widget's JSON, forms, detail, rooms, free slots, the .ics feed; query
counts for every list and detail page; the 360° panel."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from apps.tasks import calendar_services as services
from apps.tasks.models import Event

from .calendar_fixtures import (
    at,
    book,
    cal_fixture,  # noqa: F401 - the `cal` fixture
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, cal):
    client.force_login(cal.rep)
    return client


def queries(client, url) -> int:
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx)


def more_events(cal, n=4):
    for i in range(n):
        book(
            cal.rep, at(8 + i * 2), at(9 + i * 2), room=cal.room, attendees=[cal.attendee, cal.peer]
        )


@pytest.mark.parametrize(
    "url",
    [
        "/calendar/",
        "/calendar/events.json?start=2000-01-01&end=2100-01-01",
        "/calendar/agenda/",
        "/rooms/",
    ],
)
def test_list_pages_keep_their_query_count(web, cal, url):
    if url.startswith("/calendar/events.json"):
        url = f"/calendar/events.json?start={at(0).date()}&end={at(0, days=3).date()}"
    if url == "/calendar/agenda/":
        url = f"/calendar/agenda/?from={at(0).date()}"
    book(cal.rep, at(7), at(8), attendees=[cal.attendee])
    few = queries(web, url)
    more_events(cal)
    assert queries(web, url) == few


def test_detail_pages_keep_their_query_count(web, cal):
    event = book(cal.rep, at(7), at(8), room=cal.room, attendees=[cal.attendee])
    room_url = f"/rooms/{cal.room.pk}/?date={at(0).date()}"
    few_event, few_room = queries(web, f"/calendar/{event.pk}/"), queries(web, room_url)
    more_events(cal)
    services.event_update(
        event=event, by=cal.rep, data={"attendees": [cal.attendee, cal.peer, cal.director]}
    )
    services.event_respond(event=event, by=cal.peer, response="accepted")
    assert queries(web, f"/calendar/{event.pk}/") == few_event
    assert queries(web, room_url) == few_room


def test_events_json_for_the_widget(web, cal):
    client = Client()
    mine = book(cal.rep, at(10), at(11), room=cal.room)
    theirs = book(cal.other, at(12), at(13), room=cal.room)
    start, end = (t.isoformat().replace("+", "%2B") for t in (at(0), at(0, days=1)))
    span = f"start={start}&end={end}"

    rows = web.get(f"/calendar/events.json?{span}").json()
    assert [r["id"] for r in rows] == [mine.pk]
    assert rows[0]["url"] == f"/calendar/{mine.pk}/" and rows[0]["start"].startswith(
        str(at(0).date())
    )
    rows = web.get(f"/calendar/events.json?{span}&room={cal.room.pk}").json()
    assert [(r["id"], r["title"], "url" in r) for r in rows] == [
        (mine.pk, "周会", True),
        (theirs.pk, "Booked", False),
    ]
    assert web.get("/calendar/events.json?start=x&end=y").status_code == 400
    client.logout()
    client.force_login(cal.nobody)
    assert client.get(f"/calendar/events.json?{span}").status_code == 403


def test_book_a_room_from_the_form(web, cal):
    r = web.get(f"/calendar/new/?room={cal.room.pk}&start={at(10).isoformat().replace('+', '%2B')}")
    assert r.status_code == 200
    assert f'value="{cal.room.pk}" selected' in r.content.decode()
    r = web.post(
        "/calendar/new/",
        {
            "title": "项目评审",
            "start": at(10).strftime("%Y-%m-%dT%H:%M"),
            "end": at(11).strftime("%Y-%m-%dT%H:%M"),
            "meeting_room": cal.room.pk,
            "attendees": [cal.attendee.pk],
        },
    )
    event = Event.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/calendar/{event.pk}/"
    assert event.meeting_room == cal.room and event.start == at(10)


def test_double_booking_shows_the_error_on_the_room_field(web, cal):
    book(cal.peer, at(10), at(11), room=cal.room)
    r = web.post(
        "/calendar/new/",
        {
            "title": "撞了",
            "start": at(10, 30).strftime("%Y-%m-%dT%H:%M"),
            "end": at(11, 30).strftime("%Y-%m-%dT%H:%M"),
            "meeting_room": cal.room.pk,
        },
    )
    assert r.status_code == 200
    assert "meeting_room" in r.context["form"].errors
    assert Event.objects.count() == 1


def test_form_errors_not_500(web, cal):
    r = web.post("/calendar/new/", {"title": "", "start": "nonsense", "end": ""})
    assert r.status_code == 200
    assert {"title", "start", "end"} <= set(r.context["form"].errors)
    r = web.post(
        "/calendar/new/",
        {"title": "x", "start": "2030-01-01T10:00", "end": "2030-01-01T09:00", "customer": "999"},
    )
    assert r.status_code == 200 and "customer" in r.context["form"].errors


def test_detail_edit_cancel_respond_and_who_may(web, cal):
    client = Client()
    event = book(cal.rep, at(10), at(11), attendees=[cal.attendee])
    assert web.get(f"/calendar/{event.pk}/").status_code == 200
    r = web.post(
        f"/calendar/{event.pk}/edit/",
        {
            "title": "新标题",
            "start": at(10).strftime("%Y-%m-%dT%H:%M"),
            "end": at(12).strftime("%Y-%m-%dT%H:%M"),
            "attendees": [cal.attendee.pk],
        },
    )
    assert r.status_code == 302
    event.refresh_from_db()
    assert event.title == "新标题" and event.end == at(12)

    client.logout()
    client.force_login(cal.attendee)
    assert client.get(f"/calendar/{event.pk}/edit/").status_code == 403
    assert client.post(f"/calendar/{event.pk}/cancel/").status_code == 403
    event.refresh_from_db()
    assert event.status == "confirmed"
    client.post(f"/calendar/{event.pk}/respond/", {"response": "declined"})
    assert event.attendance.get().response == "declined"
    client.logout()
    client.force_login(cal.other)
    assert client.get(f"/calendar/{event.pk}/").status_code == 404
    assert client.post(f"/calendar/{event.pk}/cancel/").status_code == 404

    web.post(f"/calendar/{event.pk}/cancel/", {"reason": "改期"})
    event.refresh_from_db()
    assert event.status == "cancelled"


def test_rooms_pages(web, cal):
    book(cal.rep, at(10), at(11), room=cal.room)
    r = web.get(f"/rooms/?date={at(0).date()}")
    assert r.status_code == 200 and "大会议室" in r.content.decode()
    r = web.get(f"/rooms/{cal.room.pk}/?date={at(0).date()}")
    assert r.status_code == 200
    free = [(s.hour, e.hour) for s, e in r.context["free"]]
    assert free == [(9, 10), (11, 18)]
    assert web.get("/rooms/999/").status_code == 404


def test_free_slots_page_and_htmx(web, cal):
    book(cal.attendee, at(9), at(12))
    url = (
        f"/calendar/free-slots/?date={at(0).date()}&duration=60"
        f"&attendees={cal.attendee.pk}&with_room=on"
    )
    r = web.get(url)
    assert r.status_code == 200
    rows = r.context["rows"]
    assert [row.room.name for row in rows] == ["洽谈室", "大会议室"]
    assert rows[0].slots[0][0].hour == 12
    r = web.get(url, HTTP_HX_REQUEST="true")
    assert "Book at 12:00" in r.content.decode()
    assert web.get("/calendar/free-slots/?date=bad&duration=1").status_code == 200


def test_ics_feed(web, cal):
    client = Client()
    event = book(
        cal.rep, at(10), at(11), room=cal.room, attendees=[cal.attendee], description="议程"
    )
    cancelled = book(cal.rep, at(14), at(15), title="培训")
    services.event_cancel(event=cancelled, by=cal.rep)
    book(cal.other, at(16), at(17))  # not theirs: not in the feed

    page = web.get("/calendar/subscribe/")
    url = page.context["url"]
    token = url.rsplit("/", 1)[-1].removesuffix(".ics")
    client.logout()
    r = client.get(f"/calendar/feed/{token}.ics")  # no session: the token is the key
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    cal_doc = Calendar.from_ical(r.content)
    events = {str(e["summary"]): e for e in cal_doc.walk("VEVENT")}
    assert set(events) == {"周会", "培训"}
    vevent = events["周会"]
    assert str(vevent["uid"]).startswith(f"event-{event.pk}@")
    assert vevent.decoded("dtstart") == at(10)
    assert str(vevent["location"]) == "大会议室"
    assert str(vevent["status"]) == "CONFIRMED"
    assert str(events["培训"]["status"]) == "CANCELLED"  # the phone removes it
    assert events["培训"]["sequence"] == 1
    attendees = (
        [str(a) for a in vevent.get("attendee", [])]
        if isinstance(vevent.get("attendee"), list)
        else [str(vevent["attendee"])]
    )
    assert attendees == [f"mailto:{cal.attendee.email}"]

    web.post("/calendar/subscribe/reset/")
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404
    assert client.get("/calendar/feed/nonsense.ics").status_code == 404


def test_customer_360_panel_and_timeline(cal, client):
    from apps.customers.models import Customer
    from tests.customers.factories import CustomerFactory
    from tests.org.factories import make_role

    make_role("customer readers", Customer, scope="own", members=[cal.rep])
    customer = CustomerFactory(owner=cal.rep)
    event = book(cal.rep, at(10), at(11), customer=customer)
    client.force_login(cal.rep)
    r = client.get(f"/customers/{customer.pk}/")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-panel="events"' in body and f'data-event="{event.pk}"' in body
    r = client.get(f"/api/v1/customers/{customer.pk}/timeline/")
    if r.status_code == 200:
        data = r.json()
        items = data["results"] if isinstance(data, dict) else data
        assert any(i.get("object_id") == event.pk for i in items)


def test_home_shows_the_rest_of_today(web, cal):
    import datetime as dt

    from django.utils import timezone

    start = timezone.localtime() + dt.timedelta(minutes=2)
    event = book(cal.rep, start, start + dt.timedelta(minutes=30), title="站会")
    body = web.get("/").content.decode()
    # Just before midnight the event is tomorrow's and the card is (rightly) not there.
    assert (event.get_absolute_url() in body) == (start.date() == timezone.localdate())
    assert "/calendar/" in body and "/rooms/" in body  # sidebar entries
