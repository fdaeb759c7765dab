"""Reads of the calendar, scoped to the user, in a fixed number of queries each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from .models import Event, EventAttendee, EventLog, MeetingRoom

# Working hours for the free-slot finder, local time; a deployment may set WEFT_WORKING_HOURS.
WORKING_HOURS: tuple[int, int] = getattr(settings, "WEFT_WORKING_HOURS", (9, 18))
SLOT_STEP_MINUTES = 15
MAX_RANGE_DAYS = 100


def _attendance_prefetch() -> Prefetch:
    return Prefetch(
        "attendance",
        queryset=EventAttendee.objects.select_related("user").order_by("user__username"),
    )


def event_list(
    *, user, start=None, end=None, room=None, mine: bool = False, include_cancelled: bool = True
) -> QuerySet[Event]:
    """Events `user` may see, optionally in [start, end), in one room, or only their own."""
    qs = Event.objects.visible_to(user)
    if mine:
        qs = qs.attended_by(user)
    if start is not None and end is not None:
        qs = qs.between(start, end)
    if room is not None:
        qs = qs.filter(meeting_room=room)
    if not include_cancelled:
        qs = qs.confirmed()
    return qs.select_related("organizer", "meeting_room", "customer").order_by("start", "id")


def event_detail(*, user, pk: int) -> Event:
    """One visible event with its attendees, room, links and history (DoesNotExist otherwise)."""
    return (
        Event.objects.visible_to(user)
        .select_related("organizer", "meeting_room", "customer", "record_type", "department")
        .prefetch_related(
            _attendance_prefetch(),
            Prefetch(
                "log", queryset=EventLog.objects.select_related("actor").order_by("-at", "-id")
            ),
        )
        .get(pk=pk)
    )


def my_response(event: Event, user) -> EventAttendee | None:
    """The user's attendance row among the prefetched ones (no query)."""
    for row in event.attendance.all():
        if row.user_id == user.pk:
            return row
    return None


def clamp_range(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if end <= start:
        end = start + dt.timedelta(days=1)
    if end - start > dt.timedelta(days=MAX_RANGE_DAYS):
        end = start + dt.timedelta(days=MAX_RANGE_DAYS)
    return start, end


def calendar_items(*, user, start, end, room=None, everyone: bool = False) -> list[dict]:
    """What the calendar widget shows for [start, end): two queries.

    Without a room: the user's own events (organised or attending), or with `everyone` all the
    events their scope shows. With a room: every confirmed booking of that room, titled only
    when the user may see the event (others read "Booked").
    """
    start, end = clamp_range(start, end)
    if room is not None:
        rows = list(
            Event.objects.filter(meeting_room=room, status=Event.Status.CONFIRMED)
            .between(start, end)
            .select_related("meeting_room")
            .order_by("start")
        )
        visible = set(
            Event.objects.visible_to(user)
            .filter(pk__in=[e.pk for e in rows])
            .values_list("pk", flat=True)
        )
    else:
        rows = list(event_list(user=user, start=start, end=end, mine=not everyone))
        visible = {e.pk for e in rows}
    own = set(
        EventAttendee.objects.filter(
            user_id=user.pk, event_id__in=[e.pk for e in rows]
        ).values_list("event_id", "response")
    )
    responses = dict(own)
    from django.utils.translation import gettext as _

    items = []
    for e in rows:
        seen = e.pk in visible
        classes = []
        if e.is_cancelled:
            classes.append("weft-ev-cancelled")
        if responses.get(e.pk) == EventAttendee.Response.DECLINED:
            classes.append("weft-ev-declined")
        if e.meeting_room_id:
            classes.append("weft-ev-room")
        item = {
            "id": e.pk,
            "title": e.title if seen else _("Booked"),
            "start": timezone.localtime(e.start).isoformat(),
            "end": timezone.localtime(e.end).isoformat(),
            "allDay": e.all_day,
            "classNames": classes,
            "extendedProps": {
                "room": e.meeting_room.name if e.meeting_room_id else "",
                "location": e.location if seen else "",
                "status": e.status,
            },
        }
        if seen:
            item["url"] = e.get_absolute_url()
        if e.all_day:
            item["start"] = timezone.localtime(e.start).date().isoformat()
            item["end"] = timezone.localtime(e.end).date().isoformat()
        items.append(item)
    return items


def agenda(*, user, start, days: int = 7) -> list[tuple[dt.date, list[Event]]]:
    """The user's confirmed events from `start` for `days` days, grouped by local day (phones)."""
    end = start + dt.timedelta(days=days)
    rows = list(event_list(user=user, start=start, end=end, mine=True, include_cancelled=False))
    days_out: dict[dt.date, list[Event]] = {}
    for e in rows:
        day = max(timezone.localtime(e.start).date(), timezone.localtime(start).date())
        days_out.setdefault(day, []).append(e)
    return sorted(days_out.items())


def today_for(user, limit: int = 6) -> list[Event]:
    """The user's remaining confirmed events today (home panel): one query."""
    now = timezone.localtime()
    end = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), tzinfo=now.tzinfo)
    return list(
        event_list(user=user, start=now, end=end, mine=True, include_cancelled=False)[:limit]
    )


# --- rooms -----------------------------------------------------------------------------------


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def room_list(*, day: dt.date, active_only: bool = True) -> list[MeetingRoom]:
    """Rooms with `.day_bookings` (confirmed events that day): two queries."""
    start, end = day_bounds(day)
    bookings = (
        Event.objects.filter(status=Event.Status.CONFIRMED).between(start, end).order_by("start")
    )
    qs = MeetingRoom.objects.all()
    if active_only:
        qs = qs.active()
    return list(
        qs.prefetch_related(Prefetch("bookings", queryset=bookings, to_attr="day_bookings"))
    )


def room_day(*, user, room: MeetingRoom, day: dt.date) -> list[Event]:
    """The room's confirmed bookings that day; `.visible` says whether the user may open each
    (two queries)."""
    start, end = day_bounds(day)
    rows = list(
        Event.objects.filter(meeting_room=room, status=Event.Status.CONFIRMED)
        .between(start, end)
        .select_related("organizer")
        .order_by("start")
    )
    visible = set(
        Event.objects.visible_to(user)
        .filter(pk__in=[e.pk for e in rows])
        .values_list("pk", flat=True)
    )
    for e in rows:
        e.visible = e.pk in visible
    return rows


# --- the free-slot finder --------------------------------------------------------------------


@dataclass
class FreeSlots:
    room: MeetingRoom | None
    slots: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)


def _merge(intervals: Iterable[tuple[dt.datetime, dt.datetime]]):
    out: list[list[dt.datetime]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _gaps(busy, start, end, duration: dt.timedelta):
    free, cursor = [], start
    for s, e in _merge(busy):
        if e <= cursor:
            continue
        if s >= end:
            break
        if s - cursor >= duration:
            free.append((cursor, s))
        cursor = max(cursor, e)
    if end - cursor >= duration:
        free.append((cursor, end))
    return [(timezone.localtime(s), timezone.localtime(e)) for s, e in free]


def free_slots(
    *,
    day: dt.date,
    duration: dt.timedelta,
    attendees: Sequence = (),
    rooms: Sequence[MeetingRoom] | None = None,
    hours: tuple[int, int] | None = None,
    now: dt.datetime | None = None,
) -> list[FreeSlots]:
    """Free windows of at least `duration` in working hours on `day`, when every one of
    `attendees` is free (events they organise or did not decline) — per room when `rooms` is
    given (each room free as well), else one row without a room. Two queries."""
    first, last = hours or WORKING_HOURS
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(first), tzinfo=tz)
    end = dt.datetime.combine(day, dt.time(0), tzinfo=tz) + dt.timedelta(hours=last)
    now = now or timezone.now()
    if now > start:
        # Not in the past: from now, rounded up to the next quarter hour.
        local = timezone.localtime(now, tz)
        minutes = (local.minute // SLOT_STEP_MINUTES + 1) * SLOT_STEP_MINUTES
        start = max(
            start, local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(minutes=minutes)
        )
    if start >= end:
        return [FreeSlots(room=r) for r in rooms] if rooms else [FreeSlots(room=None)]
    people = [u.pk for u in attendees]
    busy_people: list[tuple[dt.datetime, dt.datetime]] = []
    if people:
        attending = EventAttendee.objects.filter(user_id__in=people).exclude(
            response=EventAttendee.Response.DECLINED
        )
        busy_people = list(
            Event.objects.filter(status=Event.Status.CONFIRMED)
            .between(start, end)
            .filter(Q(organizer_id__in=people) | Q(pk__in=attending.values("event_id")))
            .values_list("start", "end")
        )
    if not rooms:
        return [FreeSlots(room=None, slots=_gaps(busy_people, start, end, duration))]
    by_room: dict[int, list] = {r.pk: [] for r in rooms}
    for room_id, s, e in (
        Event.objects.filter(status=Event.Status.CONFIRMED, meeting_room_id__in=list(by_room))
        .between(start, end)
        .values_list("meeting_room_id", "start", "end")
    ):
        by_room[room_id].append((s, e))
    return [
        FreeSlots(room=r, slots=_gaps(busy_people + by_room[r.pk], start, end, duration))
        for r in rooms
    ]


def rooms_for(count: int, ids: Sequence[int] | None = None) -> list[MeetingRoom]:
    """Bookable rooms (the given ones, or all that seat `count` people), smallest first."""
    qs = MeetingRoom.objects.active()
    if ids:
        qs = qs.filter(pk__in=ids)
    else:
        qs = qs.filter(capacity__gte=max(count, 1))
    return list(qs.order_by("capacity", "order", "name"))


# --- the iCalendar feed and the 360° page ----------------------------------------------------


def feed_events(user, *, past_days: int = 90, future_days: int = 400) -> list[Event]:
    """Events for the user's phone calendar: organised or attending, recent and coming,
    cancelled ones included (so the phone removes them). Two queries."""
    now = timezone.now()
    return list(
        Event.objects.attended_by(user)
        .between(now - dt.timedelta(days=past_days), now + dt.timedelta(days=future_days))
        .select_related("organizer", "meeting_room")
        .prefetch_related(_attendance_prefetch())
        .order_by("start")[:2000]
    )


def customer_events(*, user, customer, limit: int = 10, before=None) -> list[Event]:
    """Events linked to `customer` that the user may see, latest first (one query)."""
    qs = Event.objects.visible_to(user).filter(customer=customer)
    if before is not None:
        qs = qs.filter(start__lt=before)
    return list(qs.select_related("organizer", "meeting_room").order_by("-start", "-id")[:limit])
