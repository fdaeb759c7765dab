"""Calendar and meeting-room pages (thin: bind, check, one service or selector call, render)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.customers.models import Customer
from apps.org.errors import ServiceError

from . import calendar_selectors as selectors
from . import calendar_services as services
from .calendar_forms import CancelForm, EventForm, FreeSlotForm, RespondForm, add_service_errors
from .calendar_ics import build_calendar
from .models import CalendarFeed, Event, EventAttendee, MeetingRoom


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _day_param(request, name: str = "date") -> dt.date:
    return parse_date(request.GET.get(name) or "") or timezone.localdate()


def _moment(raw: str | None) -> dt.datetime | None:
    """A date or date-time from a query string (FullCalendar sends ISO 8601 with an offset)."""
    raw = (raw or "").strip().replace(" ", "+")
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        day = parse_date(raw[:10]) if len(raw) >= 10 else None
        if day is None:
            return None
        value = dt.datetime.combine(day, dt.time(0))
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _visible_event(request, pk: int) -> Event:
    try:
        return selectors.event_detail(user=request.user, pk=pk)
    except Event.DoesNotExist:
        raise Http404 from None


# --- the calendar ----------------------------------------------------------------------------


@login_required
@permission_required("tasks.view_event", raise_exception=True)
def calendar_page(request):
    rooms = list(MeetingRoom.objects.active().order_by("order", "name"))
    room = request.GET.get("room") or ""
    feed = CalendarFeed.objects.filter(user=request.user).first()
    context = {
        "rooms": rooms,
        "room": int(room) if room.isdigit() else None,
        "everyone": request.GET.get("everyone") == "1",
        "fc_locale": "zh-cn" if (get_language() or "").startswith("zh") else "en",
        "events_url": reverse("tasks:calendar-events"),
        "new_url": reverse("tasks:event-create"),
        "can_add": request.user.has_perm("tasks.add_event"),
        "feed_url": request.build_absolute_uri(reverse("tasks:calendar-feed", args=[feed.token]))
        if feed
        else "",
    }
    return render(request, "tasks/calendar/calendar.html", context)


@login_required
@permission_required("tasks.view_event", raise_exception=True)
def calendar_events(request):
    """JSON for the calendar widget: events overlapping ?start=&end=."""
    start, end = _moment(request.GET.get("start")), _moment(request.GET.get("end"))
    if start is None or end is None:
        return JsonResponse({"detail": _("Give start and end.")}, status=400)
    room = None
    raw_room = request.GET.get("room") or ""
    if raw_room.isdigit():
        room = MeetingRoom.objects.filter(pk=int(raw_room)).first()
    items = selectors.calendar_items(
        user=request.user,
        start=start,
        end=end,
        room=room,
        everyone=request.GET.get("everyone") == "1",
    )
    return JsonResponse(items, safe=False)


@login_required
@permission_required("tasks.view_event", raise_exception=True)
def agenda(request):
    """My coming week as a list (the phone view that needs no script)."""
    day = _day_param(request, "from")
    start = (
        max(selectors.day_bounds(day)[0], timezone.now())
        if day == timezone.localdate()
        else selectors.day_bounds(day)[0]
    )
    days = selectors.agenda(user=request.user, start=start, days=7)
    context = {
        "days": days,
        "day": day,
        "previous": day - dt.timedelta(days=7),
        "next": day + dt.timedelta(days=7),
        "today": timezone.localdate(),
    }
    return render(request, "tasks/calendar/agenda.html", context)


# --- events ----------------------------------------------------------------------------------


def _initial_from_query(request) -> dict:
    initial: dict = {}
    start = _moment(request.GET.get("start"))
    end = _moment(request.GET.get("end"))
    if start is not None:
        initial["start"] = timezone.localtime(start).replace(second=0, microsecond=0, tzinfo=None)
        initial["end"] = (
            timezone.localtime(end).replace(second=0, microsecond=0, tzinfo=None)
            if end is not None and end > start
            else initial["start"] + dt.timedelta(hours=1)
        )
    if request.GET.get("all_day") == "1":
        initial["all_day"] = True
    for name in ("room", "meeting_room"):
        if (request.GET.get(name) or "").isdigit():
            initial["meeting_room"] = int(request.GET[name])
    attendees = [v for v in request.GET.getlist("attendees") if v.isdigit()]
    if attendees:
        initial["attendees"] = attendees
    for name in ("title", "record_type", "record_id", "customer"):
        if request.GET.get(name):
            initial[name] = request.GET[name][:200]
    return initial


@login_required
@permission_required("tasks.add_event", raise_exception=True)
def event_create(request):
    customers = Customer.objects.visible_to(request.user)
    form = EventForm(
        request.POST or None,
        user=request.user,
        customers=customers,
        initial=_initial_from_query(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not create this event."))
        else:
            messages.success(request, _("Event saved."))
            return redirect(event)
    return render(request, "tasks/calendar/event_form.html", _form_context(form, customers))


def _form_context(form, customers, event=None) -> dict:
    raw = form.data.get("customer") if form.is_bound else form.initial.get("customer")
    if raw in (None, "") and event is not None:
        raw = event.customer_id
    customer = customers.filter(pk=int(raw)).first() if str(raw or "").isdigit() else None
    return {"form": form, "obj": event, "customer": customer}


@login_required
def event_detail(request, pk: int):
    event = _visible_event(request, pk)
    user = request.user
    mine = selectors.my_response(event, user)
    can_change = not event.is_cancelled and user.has_perm("tasks.change_event", event)
    context = {
        "obj": event,
        "attendance": list(event.attendance.all()),
        "log": list(event.log.all()[:30]),
        "mine": mine,
        "can_change": can_change,
        "can_respond": mine is not None and not event.is_cancelled,
        "responses": RespondForm.base_fields["response"].choices,
        "record": _record_link(event),
        "Response": EventAttendee.Response,
    }
    return render(request, "tasks/calendar/event_detail.html", context)


def _record_link(event: Event) -> dict | None:
    """The linked record as {"label", "text", "url"} (one query), or None."""
    if not event.record_type_id or not event.record_id:
        return None
    record = event.record
    if record is None:
        return None
    url = record.get_absolute_url() if hasattr(record, "get_absolute_url") else ""
    return {"label": record._meta.verbose_name, "text": str(record), "url": url}


@login_required
def event_edit(request, pk: int):
    event = _visible_event(request, pk)
    if event.is_cancelled or not request.user.has_perm("tasks.change_event", event):
        raise PermissionDenied
    customers = Customer.objects.visible_to(request.user)
    initial = {
        "title": event.title,
        "start": timezone.localtime(event.start).replace(tzinfo=None),
        "end": timezone.localtime(event.end).replace(tzinfo=None),
        "all_day": event.all_day,
        "meeting_room": event.meeting_room_id,
        "attendees": [row.user_id for row in event.attendance.all()],
        "location": event.location,
        "description": event.description,
        "customer": event.customer_id,
    }
    if event.record_type_id:
        from django.contrib.contenttypes.models import ContentType

        ct = ContentType.objects.get_for_id(event.record_type_id)
        initial["record_type"] = f"{ct.app_label}.{ct.model}"
        initial["record_id"] = event.record_id
    form = EventForm(
        request.POST or None,
        user=request.user,
        customers=customers,
        room=event.meeting_room,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.event_update(event=event, by=request.user, data=form.service_data())
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Event saved."))
            return redirect(event)
    return render(request, "tasks/calendar/event_form.html", _form_context(form, customers, event))


@login_required
@require_POST
def event_cancel(request, pk: int):
    event = _visible_event(request, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.event_cancel(event=event, by=request.user, reason=reason)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Event cancelled; attendees were told."))
    return redirect(event)


@login_required
@require_POST
def event_respond(request, pk: int):
    event = _visible_event(request, pk)
    form = RespondForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError(_("Answer accepted, tentative or declined."))
        services.event_respond(event=event, by=request.user, response=form.cleaned_data["response"])
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your answer was sent to the organiser."))
    return redirect(event)


# --- free slots ------------------------------------------------------------------------------


@login_required
def free_slots(request):
    """Find a time: a day, a duration, colleagues and rooms → free windows (htmx results)."""
    data = request.GET if "date" in request.GET else None
    form = FreeSlotForm(data, user=request.user, initial={"date": timezone.localdate()})
    rows = None
    duration = None
    if form.is_bound and form.is_valid():
        people = [*form.cleaned_data["attendees"], request.user]
        duration = dt.timedelta(minutes=form.cleaned_data["duration"])
        rooms = None
        if form.cleaned_data["with_room"] or form.cleaned_data["rooms"]:
            rooms = selectors.rooms_for(len(people), [r.pk for r in form.cleaned_data["rooms"]])
        rows = selectors.free_slots(
            day=form.cleaned_data["date"], duration=duration, attendees=people, rooms=rooms
        )
        for row in rows:
            row.options = [{"start": s, "end": e, "book_end": s + duration} for s, e in row.slots]
    context = {
        "form": form,
        "rows": rows,
        "attendee_ids": [u.pk for u in form.cleaned_data.get("attendees", [])]
        if rows is not None
        else [],
        "can_add": request.user.has_perm("tasks.add_event"),
    }
    template = (
        "tasks/calendar/_free_slots.html" if _is_htmx(request) else "tasks/calendar/free_slots.html"
    )
    return render(request, template, context)


# --- the iCalendar feed ----------------------------------------------------------------------


@login_required
def feed_settings(request):
    """The phone-calendar subscription address (created on first visit) and its reset."""
    feed = services.calendar_feed_for(user=request.user)
    url = request.build_absolute_uri(reverse("tasks:calendar-feed", args=[feed.token]))
    return render(
        request,
        "tasks/calendar/feed.html",
        {"feed": feed, "url": url, "webcal": "webcal://" + url.split("://", 1)[-1]},
    )


@login_required
@require_POST
def feed_reset(request):
    services.calendar_feed_reset(user=request.user)
    messages.success(request, _("New address made; the old one no longer works."))
    return redirect("tasks:calendar-feed-settings")


def feed_ics(request, token: str):
    """The feed itself: no sign-in (phones cannot), the secret token is the key."""
    feed = get_object_or_404(CalendarFeed.objects.select_related("user"), token=token)
    user = feed.user
    if not user.is_active:
        raise Http404
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=10):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    body = build_calendar(
        user=user,
        events=selectors.feed_events(user),
        base_url=request.build_absolute_uri("/"),
        name=_("Weft · %(name)s") % {"name": user},
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="weft.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- meeting rooms ---------------------------------------------------------------------------


@login_required
def room_list(request):
    day = _day_param(request)
    rooms = selectors.room_list(day=day)
    context = {
        "rooms": rooms,
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "today": timezone.localdate(),
        "can_add": request.user.has_perm("tasks.add_event"),
    }
    return render(request, "tasks/calendar/rooms.html", context)


@login_required
def room_detail(request, pk: int):
    room = get_object_or_404(MeetingRoom, pk=pk)
    day = _day_param(request)
    bookings = selectors.room_day(user=request.user, room=room, day=day)
    hours = selectors.WORKING_HOURS
    free = selectors.free_slots(
        day=day, duration=dt.timedelta(minutes=30), rooms=[room], hours=hours
    )
    context = {
        "room": room,
        "day": day,
        "bookings": bookings,
        "free": free[0].slots if free else [],
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "today": timezone.localdate(),
        "can_add": room.is_active and request.user.has_perm("tasks.add_event"),
    }
    return render(request, "tasks/calendar/room_detail.html", context)
