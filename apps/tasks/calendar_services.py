"""Writes of the calendar: events (with attendees, a room, links), answers, cancellations, feed
tokens and meeting rooms. Every page, API call, admin action and the demo go through these.

A room is never double-booked. Each write that books a room (a new event with a room, a change
of room or time, re-confirming) first takes a lock on the room — a row lock on PostgreSQL,
SQLite's database write lock in embedded mode — and then looks for a confirmed event in that
room overlapping [start, end). Concurrent bookings of one room therefore run one after the
other and the loser gets a field error on `meeting_room`. On PostgreSQL the exclusion
constraint of migration 0002_calendar is the guarantee behind that (a path that skipped the
service, an admin's raw SQL): its violation is turned into the same field error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ServiceError

from .models import CalendarFeed, Event, EventAttendee, EventLog, MeetingRoom

User = get_user_model()

ROOM_CONSTRAINT = "tasks_event_room_no_overlap"
MAX_EVENT_DAYS = 31
MAX_ATTENDEES = 200
TEXT_FIELDS = ("title", "description", "location")
NOTIFY_ON = ("title", "start", "end", "all_day", "location", "meeting_room")


def _require(by, perm: str, obj=None) -> None:
    if by is None:
        return
    if not (by.has_perm(perm, obj) if obj is not None else by.has_perm(perm)):
        raise PermissionDenied


def _when(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


# --- validation ------------------------------------------------------------------------------


def _clean_times(start, end, all_day: bool) -> tuple[dt.datetime, dt.datetime]:
    errors: dict[str, list[str]] = {}
    if not isinstance(start, dt.datetime):
        errors["start"] = [_("Give a start time.")]
    if not isinstance(end, dt.datetime):
        errors["end"] = [_("Give an end time.")]
    if errors:
        raise ServiceError(_("Check the times."), errors=errors)
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if timezone.is_naive(end):
        end = timezone.make_aware(end)
    if all_day:
        # Whole local days: midnight of the first day to midnight after the last one.
        first = timezone.localtime(start).date()
        last = timezone.localtime(end).date()
        if timezone.localtime(end).time() == dt.time(0) and last > first:
            last -= dt.timedelta(days=1)
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    if end <= start:
        raise ServiceError(_("The end must be after the start."), field="end")
    if end - start > dt.timedelta(days=MAX_EVENT_DAYS):
        raise ServiceError(
            _("An event lasts at most %(days)d days.") % {"days": MAX_EVENT_DAYS}, field="end"
        )
    return start, end


def _clean_attendees(users: Iterable, organizer) -> list:
    seen, out = set(), []
    for u in users or ():
        if u is None or u.pk in seen or u.pk == organizer.pk:
            continue
        if not u.is_active:
            raise ServiceError(
                _("%(user)s is not an active colleague.") % {"user": u}, field="attendees"
            )
        seen.add(u.pk)
        out.append(u)
    if len(out) > MAX_ATTENDEES:
        raise ServiceError(_("At most %(n)d attendees.") % {"n": MAX_ATTENDEES}, field="attendees")
    return out


def _check_customer(by, customer) -> None:
    if customer is None or by is None:
        return
    if not by.has_perm("customers.view_customer", customer):
        raise ServiceError(_("Choose a customer you can see."), field="customer")


def _resolve_record(by, record_type, record_id):
    """(content type, id) of the linked record, checked to exist and be visible to `by`."""
    if record_type in (None, "") and record_id in (None, ""):
        return None, None
    if record_type in (None, "") or record_id in (None, ""):
        raise ServiceError(_("Give both the record type and its id."), field="record_type")
    if isinstance(record_type, str):
        app_label, _dot, model = record_type.lower().partition(".")
        ct = ContentType.objects.filter(app_label=app_label, model=model).first()
    else:
        ct = record_type
    model_cls = ct.model_class() if ct is not None else None
    if model_cls is None:
        raise ServiceError(_("Unknown record type."), field="record_type")
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise ServiceError(_("Give a record id."), field="record_id") from None
    qs = model_cls._default_manager.all()
    if by is not None and hasattr(qs, "visible_to"):
        qs = qs.visible_to(by)
    elif by is not None and not by.has_perm(
        f"{model_cls._meta.app_label}.view_{model_cls._meta.model_name}"
    ):
        qs = qs.none()
    if not qs.filter(pk=record_id).exists():
        raise ServiceError(_("No such record that you can see."), field="record_id")
    return ct, record_id


# --- rooms: locking and the overlap rule -----------------------------------------------------


def _lock_room(room: MeetingRoom) -> MeetingRoom:
    """Serialise bookings of one room until the transaction ends."""
    if connection.vendor == "postgresql":
        return MeetingRoom.objects.select_for_update().get(pk=room.pk)
    # SQLite has no row locks: a write takes the database's write lock now, so a second
    # booking transaction waits here (busy timeout) instead of checking a stale picture.
    MeetingRoom.objects.filter(pk=room.pk).update(order=F("order"))
    return MeetingRoom.objects.get(pk=room.pk)


def room_clash(room: MeetingRoom, start, end, *, exclude_pk=None) -> Event | None:
    """The confirmed event holding `room` somewhere in [start, end), if any."""
    qs = Event.objects.filter(meeting_room=room, status=Event.Status.CONFIRMED).between(start, end)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.order_by("start").first()


def _book_room(room: MeetingRoom, start, end, *, exclude_pk=None) -> MeetingRoom:
    room = _lock_room(room)
    if not room.is_active:
        raise ServiceError(_("This room cannot be booked."), field="meeting_room")
    clash = room_clash(room, start, end, exclude_pk=exclude_pk)
    if clash is not None:
        raise ServiceError(
            _("%(room)s is already booked %(start)s–%(end)s.")
            % {
                "room": room.name,
                "start": _when(clash.start),
                "end": timezone.localtime(clash.end).strftime("%H:%M"),
            },
            field="meeting_room",
            code="room_taken",
        )
    return room


def _save(event: Event, **kwargs) -> None:
    """Save; a violation of the room exclusion constraint becomes the field error."""
    try:
        with transaction.atomic():
            event.save(**kwargs)
    except IntegrityError as exc:
        if ROOM_CONSTRAINT in str(exc):
            raise ServiceError(
                _("This room is already booked at that time."),
                field="meeting_room",
                code="room_taken",
            ) from exc
        raise


def _log(event: Event, kind: str, by, **payload) -> EventLog:
    return EventLog.objects.create(event=event, kind=kind, actor=by, payload=payload)


def _invite(event: Event, users: list, by) -> None:
    if not users:
        return
    notify.send(
        users,
        "tasks.event_invited",
        event,
        actor=by,
        message=_("Invitation: %(title)s, %(when)s")
        % {"title": event.title, "when": _when(event.start)},
    )


# --- events ----------------------------------------------------------------------------------


@transaction.atomic
def event_create(*, by, data: Mapping, organizer=None) -> Event:
    """Create an event (a room booking when `meeting_room` is given) and invite its attendees.

    `data`: title, description, location, start, end, all_day, meeting_room, customer,
    attendees (users), record_type ("app.model" or a ContentType) + record_id.
    """
    _require(by, "tasks.add_event")
    organizer = organizer or by
    if organizer is None:
        raise ServiceError(_("An event needs an organiser."), field="organizer")
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError(_("Give the event a title."), field="title")
    all_day = bool(data.get("all_day"))
    start, end = _clean_times(data.get("start"), data.get("end"), all_day)
    customer = data.get("customer")
    _check_customer(by, customer)
    record_type, record_id = _resolve_record(by, data.get("record_type"), data.get("record_id"))
    attendees = _clean_attendees(data.get("attendees") or [], organizer)
    room = data.get("meeting_room")
    if room is not None:
        room = _book_room(room, start, end)
    event = Event(
        title=title[:200],
        description=(data.get("description") or "").strip(),
        location=(data.get("location") or "").strip()[:200],
        start=start,
        end=end,
        all_day=all_day,
        organizer=organizer,
        department=getattr(organizer, "department", None),
        meeting_room=room,
        customer=customer,
        record_type=record_type,
        record_id=record_id,
    )
    if room is not None and not event.location:
        event.location = room.name
    _save(event)
    EventAttendee.objects.bulk_create([EventAttendee(event=event, user=u) for u in attendees])
    _log(
        event,
        EventLog.Kind.CREATED,
        by,
        start=start.isoformat(),
        end=end.isoformat(),
        meeting_room=getattr(room, "pk", None),
        attendees=[u.pk for u in attendees],
    )
    _invite(event, attendees, by)
    return event


def _lock_event(event: Event) -> Event:
    return (
        Event.objects.select_for_update(of=("self",))
        .select_related("meeting_room")
        .get(pk=event.pk)
    )


@transaction.atomic
def event_update(*, event: Event, by, data: Mapping) -> Event:
    """Change an event. Keys left out of `data` stay as they are; `attendees` replaces the list.

    Attendees hear of changes to the time, place or title; new attendees are invited and
    removed ones told.
    """
    _require(by, "tasks.change_event", event)
    event = _lock_event(event)
    if event.is_cancelled:
        raise ServiceError(_("A cancelled event cannot be changed."))
    changes: dict[str, list] = {}

    def set_(name, value):
        old = getattr(event, name)
        if _plain(old) != _plain(value):
            changes[name] = [_plain(old), _plain(value)]
            setattr(event, name, value)

    for name in TEXT_FIELDS:
        if name in data:
            value = (data.get(name) or "").strip()
            if name == "title" and not value:
                raise ServiceError(_("Give the event a title."), field="title")
            set_(name, value[:200] if name != "description" else value)
    all_day = bool(data["all_day"]) if "all_day" in data else event.all_day
    if {"start", "end", "all_day"} & set(data):
        start, end = _clean_times(
            data.get("start", event.start), data.get("end", event.end), all_day
        )
        set_("all_day", all_day)
        set_("start", start)
        set_("end", end)
    if "customer" in data:
        if data["customer"] is not None and data["customer"].pk != event.customer_id:
            _check_customer(by, data["customer"])
        set_("customer", data["customer"])
    if "record_type" in data or "record_id" in data:
        ct, rid = _resolve_record(by, data.get("record_type"), data.get("record_id"))
        set_("record_type", ct)
        set_("record_id", rid)
    if "meeting_room" in data:
        set_("meeting_room", data["meeting_room"])
    if event.meeting_room_id and ({"meeting_room", "start", "end"} & set(changes)):
        event.meeting_room = _book_room(
            event.meeting_room, event.start, event.end, exclude_pk=event.pk
        )

    added: list = []
    removed: list = []
    if "attendees" in data:
        wanted = {u.pk: u for u in _clean_attendees(data["attendees"], event.organizer)}
        current = set(EventAttendee.objects.filter(event=event).values_list("user_id", flat=True))
        added = [u for pk, u in wanted.items() if pk not in current]
        removed_ids = sorted(current - set(wanted))
        if removed_ids:
            removed = list(User.objects.filter(pk__in=removed_ids))
            EventAttendee.objects.filter(event=event, user_id__in=removed_ids).delete()
        EventAttendee.objects.bulk_create([EventAttendee(event=event, user=u) for u in added])
        if added or removed:
            changes["attendees"] = [sorted(current), sorted(wanted)]
    if not changes:
        return event
    event.sequence += 1
    if {"start", "end", "meeting_room"} & set(changes):
        # A new time or place asks everyone again.
        EventAttendee.objects.filter(event=event).exclude(user__in=[u.pk for u in added]).update(
            response=EventAttendee.Response.PENDING, responded_at=None
        )
    _save(event)
    _log(event, EventLog.Kind.UPDATED, by, changes=changes)
    if set(NOTIFY_ON) & set(changes):
        stay = list(
            User.objects.filter(attendance__event=event).exclude(pk__in=[u.pk for u in added])
        )
        if event.organizer_id != getattr(by, "pk", None):
            stay.append(event.organizer)
        notify.send(
            stay,
            "tasks.event_changed",
            event,
            actor=by,
            message=_("Changed: %(title)s, now %(when)s%(where)s")
            % {
                "title": event.title,
                "when": _when(event.start),
                "where": f" · {event.location}" if event.location else "",
            },
        )
    _invite(event, added, by)
    if removed:
        notify.send(
            removed,
            "tasks.event_uninvited",
            None,  # no link: they can no longer open it
            actor=by,
            message=_("You were removed from %(title)s, %(when)s")
            % {"title": event.title, "when": _when(event.start)},
        )
    return event


@transaction.atomic
def event_cancel(*, event: Event, by, reason: str = "") -> Event:
    """Cancel an event: the room is free again, attendees are told, the row stays as history."""
    _require(by, "tasks.change_event", event)
    event = _lock_event(event)
    if event.is_cancelled:
        raise ServiceError(_("The event is already cancelled."))
    reason = (reason or "").strip()[:500]
    event.status = Event.Status.CANCELLED
    event.sequence += 1
    event.save(update_fields=["status", "sequence", "updated_at"])
    _log(event, EventLog.Kind.CANCELLED, by, reason=reason)
    recipients = list(User.objects.filter(attendance__event=event))
    if event.organizer_id != getattr(by, "pk", None):
        recipients.append(event.organizer)
    notify.send(
        recipients,
        "tasks.event_cancelled",
        event,
        actor=by,
        message=_("Cancelled: %(title)s, %(when)s")
        % {"title": event.title, "when": _when(event.start)}
        + (f" ({reason})" if reason else ""),
    )
    return event


@transaction.atomic
def event_respond(*, event: Event, by, response: str) -> EventAttendee:
    """An attendee accepts, declines or answers maybe; the organiser is told."""
    if response not in EventAttendee.Response.values or response == EventAttendee.Response.PENDING:
        raise ServiceError(_("Answer accepted, tentative or declined."), field="response")
    row = (
        EventAttendee.objects.select_for_update()
        .select_related("event")
        .filter(event_id=event.pk, user_id=getattr(by, "pk", None))
        .first()
    )
    if row is None:
        raise ServiceError(_("You are not invited to this event."))
    if row.event.is_cancelled:
        raise ServiceError(_("The event was cancelled."))
    if row.response == response:
        return row
    row.response = response
    row.responded_at = timezone.now()
    row.save(update_fields=["response", "responded_at"])
    _log(row.event, EventLog.Kind.RESPONDED, by, response=response)
    notify.send(
        row.event.organizer,
        "tasks.event_responded",
        row.event,
        actor=by,
        message=_("%(user)s: %(response)s — %(title)s")
        % {"user": by, "response": row.get_response_display(), "title": row.event.title},
    )
    return row


# --- the iCalendar feed ----------------------------------------------------------------------


def calendar_feed_for(*, user) -> CalendarFeed:
    """The user's feed address, created on first use."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


@transaction.atomic
def calendar_feed_reset(*, user) -> CalendarFeed:
    """A new secret address; the old one stops working at once."""
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(user=user)
    if not created:
        from .models.calendar import new_feed_token

        feed.token = new_feed_token()
        feed.created_at = timezone.now()
        feed.last_used_at = None
        feed.save(update_fields=["token", "created_at", "last_used_at"])
    return feed


# --- meeting rooms (admins) ------------------------------------------------------------------


def _clean_equipment(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for part in value.split("\n") for v in part.split(",")]
    if not isinstance(value, list | tuple):
        raise ServiceError(_("Give the equipment as a list of names."), field="equipment")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ServiceError(_("Give the equipment as a list of names."), field="equipment")
        item = item.strip()[:60]
        if item and item not in out:
            out.append(item)
    return out[:30]


@transaction.atomic
def meeting_room_save(*, room: MeetingRoom, by) -> MeetingRoom:
    """Create or change a room (admins)."""
    _require(by, "tasks.change_meetingroom" if room.pk else "tasks.add_meetingroom")
    room.name = (room.name or "").strip()
    room.equipment = _clean_equipment(room.equipment)
    room.full_clean()
    room.save()
    return room


@transaction.atomic
def meeting_room_delete(*, room: MeetingRoom, by) -> None:
    """Delete a room nobody ever booked; a booked one is kept (mark it not bookable)."""
    _require(by, "tasks.delete_meetingroom")
    if Event.objects.filter(meeting_room=room).exists():
        raise ServiceError(
            _("This room has bookings: mark it as not bookable instead."), field="meeting_room"
        )
    room.delete()
