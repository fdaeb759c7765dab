"""Calendar: events with attendees, meeting rooms and room bookings, iCalendar feed tokens.

A room booking *is* an event with `meeting_room` set. That a room is never double-booked is
kept by the database on PostgreSQL: an exclusion constraint (btree_gist) over
`(meeting_room_id WITH =, tstzrange(start, "end", '[)') WITH &&)` for confirmed events, added by
migration 0002_calendar (PostgreSQL only; Django's model state does not know it, see
docs/calendar.md). The booking service also locks the room and checks first, so a clash is a
clean field error and SQLite (embedded mode) gets the same rule.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet


class MeetingRoomQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class MeetingRoom(models.Model):
    """A bookable room. Every signed-in colleague sees the rooms; admins manage them."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    location = models.CharField(
        _("location"), max_length=200, blank=True, help_text=_("Building, floor, directions.")
    )
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=6)
    equipment = models.JSONField(
        _("equipment"),
        default=list,
        blank=True,
        help_text=_('A list of names, e.g. ["projector", "video conferencing"].'),
    )
    description = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(
        _("bookable"), default=True, help_text=_("Rooms that are not bookable stay in history.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    objects = MeetingRoomQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting room")
        verbose_name_plural = _("meeting rooms")
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1), name="tasks_meetingroom_capacity_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tasks:room-detail", args=[self.pk])

    @property
    def equipment_list(self) -> list[str]:
        return [str(e) for e in self.equipment] if isinstance(self.equipment, list) else []


class EventQuerySet(ScopedQuerySet):
    def confirmed(self):
        return self.filter(status=Event.Status.CONFIRMED)

    def between(self, start, end):
        """Events overlapping the half-open interval [start, end)."""
        return self.filter(start__lt=end, end__gt=start)

    def attended_by(self, user):
        """Events `user` organises or attends (a sub-query: no duplicate rows)."""
        ids = EventAttendee.objects.filter(user_id=user.pk).values("event_id")
        return self.filter(Q(organizer_id=user.pk) | Q(pk__in=ids))


class Event(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    start = models.DateTimeField(_("starts"))
    end = models.DateTimeField(_("ends"))
    all_day = models.BooleanField(_("all day"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CONFIRMED
    )
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="organized_events",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The organiser's department when the event was created (data scopes)."),
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendees"),
        through="EventAttendee",
        related_name="calendar_events",
        blank=True,
    )
    meeting_room = models.ForeignKey(
        MeetingRoom,
        verbose_name=_("meeting room"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calendar_events",
    )
    # Any other record (an opportunity, a contract, a ticket…): a generic link.
    record_type = models.ForeignKey(
        ContentType,
        verbose_name=_("linked record type"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    record_id = models.BigIntegerField(_("linked record id"), null=True, blank=True)
    record = GenericForeignKey("record_type", "record_id")
    # iCalendar SEQUENCE: bumped on every change so phone calendars replace their copy.
    sequence = models.PositiveIntegerField(_("revision"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_owner_field = "organizer"
    scope_department_field = "department"
    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="tasks_event_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["start", "end"], name="tasks_event_range"),
            models.Index(fields=["meeting_room", "start"], name="tasks_event_room_start"),
            models.Index(fields=["organizer", "start"], name="tasks_event_organizer"),
            models.Index(fields=["customer", "-start"], name="tasks_event_customer"),
            models.Index(fields=["record_type", "record_id"], name="tasks_event_record"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tasks:event-detail", args=[self.pk])

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    # Beyond role scopes: the organiser always, attendees for reading.
    @classmethod
    def scope_extra_q(cls, user, action):
        q = Q(organizer_id=user.pk)
        if action == "view":
            q |= Q(pk__in=EventAttendee.objects.filter(user_id=user.pk).values("event_id"))
        return q

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        if obj.organizer_id == user.pk:
            return True
        if action != "view":
            return False
        return EventAttendee.objects.filter(event_id=obj.pk, user_id=user.pk).exists()


class EventAttendee(models.Model):
    class Response(models.TextChoices):
        PENDING = "pending", _("Not answered")
        ACCEPTED = "accepted", _("Accepted")
        TENTATIVE = "tentative", _("Maybe")
        DECLINED = "declined", _("Declined")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendance"
    )
    response = models.CharField(
        _("response"), max_length=20, choices=Response.choices, default=Response.PENDING
    )
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="tasks_attendee_unique"),
        ]
        indexes = [models.Index(fields=["user", "event"], name="tasks_attendee_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.event}"


class EventLog(models.Model):
    """History of an event: who created, changed, cancelled it and how attendees answered."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Changed")
        CANCELLED = "cancelled", _("Cancelled")
        RESPONDED = "responded", _("Answered")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="log")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("event history")
        verbose_name_plural = _("event history")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["event", "-at"], name="tasks_eventlog_event_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.event_id}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """The secret address of a user's iCalendar feed (phone calendars cannot sign in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last read"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return str(self.user)
