"""A user's events as an iCalendar (RFC 5545) document, built with the `icalendar` library."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as ICalEvent

from .models import Event, EventAttendee

PARTSTAT = {
    EventAttendee.Response.PENDING: "NEEDS-ACTION",
    EventAttendee.Response.ACCEPTED: "ACCEPTED",
    EventAttendee.Response.TENTATIVE: "TENTATIVE",
    EventAttendee.Response.DECLINED: "DECLINED",
}


def _address(user) -> vCalAddress:
    addr = vCalAddress(f"mailto:{user.email or f'{user.username}@weft.invalid'}")
    addr.params["cn"] = vText(str(user))
    return addr


def build_calendar(*, user, events: list[Event], base_url: str, name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Weft//Calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    # Phones poll a subscribed feed; ask for every 30 minutes (RFC 7986 + Apple's extension).
    cal.add("refresh-interval", dt.timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT30M")
    host = base_url.split("//", 1)[-1].split("/", 1)[0] or "weft"
    for e in events:
        item = ICalEvent()
        item.add("uid", f"event-{e.pk}@{host}")
        item.add("dtstamp", e.updated_at.astimezone(dt.UTC))
        item.add("last-modified", e.updated_at.astimezone(dt.UTC))
        item.add("created", e.created_at.astimezone(dt.UTC))
        item.add("sequence", e.sequence)
        if e.all_day:
            item.add("dtstart", timezone.localtime(e.start).date())
            item.add("dtend", timezone.localtime(e.end).date())
        else:
            item.add("dtstart", e.start.astimezone(dt.UTC))
            item.add("dtend", e.end.astimezone(dt.UTC))
        item.add("summary", e.title)
        if e.description:
            item.add("description", e.description)
        location = e.location or (e.meeting_room.name if e.meeting_room_id else "")
        if location:
            item.add("location", location)
        item.add("status", "CANCELLED" if e.is_cancelled else "CONFIRMED")
        item.add("url", base_url.rstrip("/") + e.get_absolute_url())
        item.add("organizer", _address(e.organizer))
        for row in e.attendance.all():
            addr = _address(row.user)
            addr.params["partstat"] = vText(PARTSTAT.get(row.response, "NEEDS-ACTION"))
            addr.params["role"] = vText("REQ-PARTICIPANT")
            item.add("attendee", addr, encode=0)
        if e.organizer_id != user.pk and not any(r.user_id == user.pk for r in e.attendance.all()):
            continue  # defensive: the feed only carries the user's own events
        cal.add_component(item)
    return cal.to_ical()
