"""Calendar services: booking rule, changes, cancellations, answers, notifications, history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from apps.notify.models import Notification
from apps.org.errors import ServiceError
from apps.tasks import calendar_services as services
from apps.tasks.models import CalendarFeed, Event, EventAttendee, EventLog

from .calendar_fixtures import (
    at,
    book,
    cal_fixture,  # noqa: F401 - the `cal` fixture
)

pytestmark = pytest.mark.django_db


def test_create_invites_attendees_and_records_history(cal):
    event = book(
        cal.rep, at(10), at(11), room=cal.room, attendees=[cal.attendee, cal.peer, cal.rep]
    )

    assert event.organizer == cal.rep and event.department == cal.east
    assert event.location == "大会议室"  # the room names the place when none was given
    assert sorted(event.attendance.values_list("user__username", flat=True)) == ["attendee", "peer"]
    assert set(
        Notification.objects.filter(verb="tasks.event_invited").values_list(
            "recipient__username", flat=True
        )
    ) == {"attendee", "peer"}
    assert EventLog.objects.get(event=event).kind == EventLog.Kind.CREATED


def test_a_room_cannot_be_booked_twice(cal):
    book(cal.rep, at(10), at(11), room=cal.room)

    for start, end in [
        (at(10), at(11)),
        (at(10, 30), at(10, 45)),
        (at(9), at(10, 1)),
        (at(9), at(12)),
    ]:
        with pytest.raises(ServiceError) as exc:
            book(cal.peer, start, end, room=cal.room)
        assert exc.value.field == "meeting_room"
    # Back to back is fine, and so is another room at the same time.
    book(cal.peer, at(11), at(12), room=cal.room)
    book(cal.peer, at(9), at(10), room=cal.room)
    book(cal.peer, at(10), at(11), room=cal.small)
    assert Event.objects.filter(meeting_room=cal.room).count() == 3


def test_cancelling_frees_the_room_and_tells_attendees(cal):
    event = book(cal.rep, at(10), at(11), room=cal.room, attendees=[cal.attendee])

    services.event_cancel(event=event, by=cal.rep, reason="改期")

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED and event.sequence == 1
    assert Notification.objects.filter(
        verb="tasks.event_cancelled", recipient=cal.attendee
    ).exists()
    book(cal.peer, at(10), at(11), room=cal.room)  # free again
    with pytest.raises(ServiceError):
        services.event_cancel(event=event, by=cal.rep)
    with pytest.raises(ServiceError):
        services.event_update(event=event, by=cal.rep, data={"title": "x"})


def test_moving_into_a_booked_slot_is_refused_and_nothing_changes(cal):
    book(cal.peer, at(14), at(15), room=cal.room)
    event = book(cal.rep, at(10), at(11), room=cal.room)

    with pytest.raises(ServiceError) as exc:
        services.event_update(
            event=event, by=cal.rep, data={"start": at(14, 30), "end": at(15, 30)}
        )
    assert exc.value.field == "meeting_room"
    event.refresh_from_db()
    assert event.start == at(10) and event.sequence == 0


def test_update_notifies_changes_invites_new_and_tells_removed(cal):
    event = book(cal.rep, at(10), at(11), attendees=[cal.attendee, cal.peer])
    EventAttendee.objects.filter(event=event, user=cal.attendee).update(response="accepted")

    services.event_update(
        event=event,
        by=cal.rep,
        data={"start": at(15), "end": at(16), "attendees": [cal.attendee, cal.director]},
    )

    event.refresh_from_db()
    assert event.sequence == 1
    verbs = dict(
        Notification.objects.exclude(verb="tasks.event_invited", recipient=cal.attendee)
        .exclude(verb="tasks.event_invited", recipient=cal.peer)
        .values_list("recipient__username", "verb")
    )
    assert verbs == {
        "attendee": "tasks.event_changed",
        "director": "tasks.event_invited",
        "peer": "tasks.event_uninvited",
    }
    # A new time asks again.
    assert EventAttendee.objects.get(event=event, user=cal.attendee).response == "pending"
    log = EventLog.objects.filter(event=event, kind="updated").get()
    assert set(log.payload["changes"]) == {"start", "end", "attendees"}


def test_update_without_changes_records_nothing(cal):
    event = book(cal.rep, at(10), at(11), attendees=[cal.attendee])
    services.event_update(
        event=event, by=cal.rep, data={"title": "周会", "attendees": [cal.attendee]}
    )
    assert EventLog.objects.filter(event=event).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": " "}, "title"),
        ({"end_offset": 0}, "end"),
        ({"end_offset": -30}, "end"),
        ({"end_offset": 60 * 24 * 40}, "end"),
        ({"start": None}, "start"),
    ],
)
def test_bad_input_is_a_field_error(cal, data, field):
    start = at(10)
    payload = {"title": data.get("title", "会"), "start": data.get("start", start)}
    payload["end"] = start + dt.timedelta(minutes=data.get("end_offset", 60))
    with pytest.raises(ServiceError) as exc:
        services.event_create(by=cal.rep, data=payload)
    assert field in exc.value.errors
    assert Event.objects.count() == 0


def test_all_day_events_cover_whole_local_days(cal):
    event = book(cal.rep, at(15), at(9, days=2), all_day=True)
    assert event.start == at(0) and event.end == at(0, days=3)


def test_inactive_room_and_invisible_customer_are_refused(cal):
    from tests.customers.factories import CustomerFactory

    cal.small.is_active = False
    cal.small.save()
    with pytest.raises(ServiceError) as exc:
        book(cal.rep, at(10), at(11), room=cal.small)
    assert exc.value.field == "meeting_room"
    customer = CustomerFactory(owner=cal.other)
    with pytest.raises(ServiceError) as exc:
        book(cal.rep, at(10), at(11), customer=customer)
    assert exc.value.field == "customer"


def test_record_link_must_exist_and_be_visible(cal):
    from apps.customers.models import Customer
    from tests.customers.factories import CustomerFactory
    from tests.org.factories import make_role

    make_role("customer readers", Customer, scope="own", members=[cal.other])
    theirs = CustomerFactory(owner=cal.other)
    with pytest.raises(ServiceError) as exc:
        book(cal.rep, at(10), at(11), record_type="customers.customer", record_id=theirs.pk)
    assert exc.value.field == "record_id"
    with pytest.raises(ServiceError) as exc:
        book(cal.rep, at(10), at(11), record_type="nope.nothing", record_id=1)
    assert exc.value.field == "record_type"
    event = book(cal.other, at(10), at(11), record_type="customers.customer", record_id=theirs.pk)
    assert event.record == theirs


def test_only_the_organiser_or_a_manager_changes_an_event(cal):
    event = book(cal.rep, at(10), at(11), attendees=[cal.attendee])
    for user in (cal.attendee, cal.peer, cal.other, cal.nobody):
        with pytest.raises(PermissionDenied):
            services.event_update(event=event, by=user, data={"title": "改"})
        with pytest.raises(PermissionDenied):
            services.event_cancel(event=event, by=user)
    services.event_update(event=event, by=cal.director, data={"title": "改"})
    event.refresh_from_db()
    assert event.title == "改"
    with pytest.raises(PermissionDenied):
        book(cal.nobody, at(10), at(11))


def test_respond(cal):
    event = book(cal.rep, at(10), at(11), attendees=[cal.attendee])

    services.event_respond(event=event, by=cal.attendee, response="accepted")

    row = EventAttendee.objects.get(event=event, user=cal.attendee)
    assert row.response == "accepted" and row.responded_at
    assert Notification.objects.filter(verb="tasks.event_responded", recipient=cal.rep).exists()
    with pytest.raises(ServiceError):
        services.event_respond(event=event, by=cal.peer, response="accepted")
    with pytest.raises(ServiceError):
        services.event_respond(event=event, by=cal.attendee, response="maybe-later")


def test_feed_token_reset(cal):
    feed = services.calendar_feed_for(user=cal.rep)
    assert services.calendar_feed_for(user=cal.rep).token == feed.token
    new = services.calendar_feed_reset(user=cal.rep)
    assert new.token != feed.token and len(new.token) >= 40
    assert CalendarFeed.objects.count() == 1


def test_room_admin_services(cal):
    from apps.tasks.models import MeetingRoom

    room = MeetingRoom(name=" 新会议室 ", capacity=8, equipment="投影仪, 白板\n投影仪")
    services.meeting_room_save(room=room, by=cal.office)
    assert room.name == "新会议室" and room.equipment == ["投影仪", "白板"]
    with pytest.raises(PermissionDenied):
        services.meeting_room_save(room=room, by=cal.rep)
    book(cal.rep, at(10), at(11), room=room)
    with pytest.raises(ServiceError):
        services.meeting_room_delete(room=room, by=cal.office)
