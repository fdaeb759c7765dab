"""/api/v1/events/ and /api/v1/meeting-rooms/ (DESIGN §5), registered from apps.tasks.api.

event: id, title, start, end, attendees (user ids), meeting_room (id or null) and more; an
overlapping booking of the room is a 400 naming `meeting_room`, also when two requests race.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import filters, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.customers.models import Customer
from apps.org.api_base import ScopedModelViewSet
from apps.org.errors import ServiceError

from . import calendar_selectors as selectors
from . import calendar_services as services
from .models import Event, EventAttendee, MeetingRoom

User = get_user_model()


def _datetime_param(params, name: str) -> dt.datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "+")) if "T" in raw else None
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise ServiceError(_("Give a date or an ISO 8601 date-time."), field=name)
        value = dt.datetime.combine(day, dt.time(0))
    from django.utils import timezone

    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _ids_param(params, name: str) -> list[int]:
    raw = params.getlist(name)
    out = []
    for chunk in raw:
        for part in chunk.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise ServiceError(_("Give ids separated by commas."), field=name)
            out.append(int(part))
    return out


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class AttendeesField(serializers.Field):
    """User ids; read from the prefetched attendance rows (no query per event)."""

    default_error_messages = {
        "invalid": _("Give a list of user ids."),
        "unknown": _("No active user with id %(ids)s."),
    }

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, event):
        return [row.user_id for row in event.attendance.all()]

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in data
        ):
            self.fail("invalid")
        users = {u.pk: u for u in User.objects.filter(pk__in=data, is_active=True)}
        missing = [str(pk) for pk in data if pk not in users]
        if missing:
            raise serializers.ValidationError(
                self.error_messages["unknown"] % {"ids": ", ".join(missing)}
            )
        return {"attendees": [users[pk] for pk in dict.fromkeys(data)]}


@extend_schema_field({"type": "string", "nullable": True, "example": "sales.opportunity"})
class RecordTypeField(serializers.Field):
    """The linked record's type as "app_label.model" (e.g. "sales.opportunity")."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, allow_null=True, **kwargs)

    def to_representation(self, event):
        if not event.record_type_id:
            return None
        ct = ContentType.objects.get_for_id(event.record_type_id)
        return f"{ct.app_label}.{ct.model}"

    def to_internal_value(self, data):
        if data not in (None, "") and not isinstance(data, str):
            raise serializers.ValidationError(_('Give "app_label.model".'))
        return {"record_type": data or None}

    def validate_empty_values(self, data):
        if data is None:
            return True, {"record_type": None}
        return super().validate_empty_values(data)


class VisibleCustomerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return Customer.objects.visible_to(user) if user else Customer.objects.none()


class AttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventAttendee
        fields = ["user", "response", "responded_at"]


class EventSerializer(serializers.ModelSerializer):
    attendees = AttendeesField(required=False)
    attendance = AttendanceSerializer(many=True, read_only=True)
    meeting_room = serializers.PrimaryKeyRelatedField(
        queryset=MeetingRoom.objects.all(), allow_null=True, required=False
    )
    customer = VisibleCustomerField(allow_null=True, required=False)
    record_type = RecordTypeField()
    record_id = serializers.IntegerField(allow_null=True, required=False, min_value=1)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "description",
            "location",
            "start",
            "end",
            "all_day",
            "status",
            "organizer",
            "attendees",
            "attendance",
            "meeting_room",
            "customer",
            "record_type",
            "record_id",
            "sequence",
            "created_at",
            "updated_at",
            "url",
        ]
        read_only_fields = ["status", "organizer", "sequence", "created_at", "updated_at"]
        extra_kwargs = {"title": {"required": True}}

    @property
    def by(self):
        return self.context["request"].user

    def create(self, validated_data):
        return services.event_create(by=self.by, data=validated_data)

    def update(self, instance, validated_data):
        return services.event_update(event=instance, by=self.by, data=validated_data)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RespondSerializer(serializers.Serializer):
    response = serializers.ChoiceField(
        choices=[
            EventAttendee.Response.ACCEPTED,
            EventAttendee.Response.TENTATIVE,
            EventAttendee.Response.DECLINED,
        ]
    )


FREE_SLOTS_RESPONSE = inline_serializer(
    "FreeSlots",
    {
        "date": serializers.DateField(),
        "duration": serializers.IntegerField(),
        "results": inline_serializer(
            "FreeSlotsRow",
            {
                "room": serializers.IntegerField(allow_null=True),
                "room_name": serializers.CharField(),
                "slots": inline_serializer(
                    "FreeSlot",
                    {"start": serializers.DateTimeField(), "end": serializers.DateTimeField()},
                    many=True,
                ),
            },
            many=True,
        ),
    },
)


class EventViewSet(ScopedModelViewSet):
    """Events the caller may see: organised, attended, or within their role's data scope.

    Filters: `?start=&end=` (overlapping that range), `?meeting_room=`, `?customer=`,
    `?status=`, `?mine=1` (organised or attended by the caller). DELETE cancels the event.
    """

    model = Event
    serializer_class = EventSerializer
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["title", "location"]
    ordering_fields = ["id", "start", "end", "created_at", "updated_at"]
    ordering = ["start", "id"]

    def base_queryset(self):
        return Event.objects.select_related("meeting_room").prefetch_related("attendance")

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            return qs
        params = self.request.query_params
        start, end = _datetime_param(params, "start"), _datetime_param(params, "end")
        if start is not None:
            qs = qs.filter(end__gt=start)
        if end is not None:
            qs = qs.filter(start__lt=end)
        for name in ("meeting_room", "customer"):
            if params.get(name):
                ids = _ids_param(params, name)
                qs = qs.filter(**{f"{name}_id__in": ids})
        status = params.get("status")
        if status:
            if status not in Event.Status.values:
                raise ServiceError(_("Unknown status."), field="status")
            qs = qs.filter(status=status)
        if params.get("mine") in ("1", "true"):
            qs = qs.attended_by(self.request.user)
        return qs

    def perform_destroy(self, instance):
        services.event_cancel(event=instance, by=self.request.user)

    def _done(self, event):
        return Response(self.get_serializer(self.base_queryset().get(pk=event.pk)).data)

    @extend_schema(request=CancelSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        ser = CancelSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        event = services.event_cancel(
            event=self.get_object(), by=request.user, reason=ser.validated_data.get("reason", "")
        )
        return self._done(event)

    @extend_schema(request=RespondSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def respond(self, request, pk=None):
        """An attendee answers: accepted, tentative or declined."""
        ser = RespondSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        event = self.get_object()
        services.event_respond(
            event=event, by=request.user, response=ser.validated_data["response"]
        )
        return self._done(event)

    @extend_schema(
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE, required=True),
            OpenApiParameter("duration", OpenApiTypes.INT, description="minutes", required=True),
            OpenApiParameter(
                "attendees", OpenApiTypes.STR, description="user ids, comma-separated"
            ),
            OpenApiParameter("rooms", OpenApiTypes.STR, description="room ids, comma-separated"),
            OpenApiParameter(
                "with_room",
                OpenApiTypes.BOOL,
                description="without `rooms`: every bookable room that seats everyone",
            ),
        ],
        responses=FREE_SLOTS_RESPONSE,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="free-slots",
        permission_classes=[permissions.IsAuthenticated],
    )
    def free_slots(self, request):
        """Free windows in working hours on a day when all attendees (and a room) are free."""
        params = request.query_params
        errors = {}
        day = parse_date(params.get("date") or "")
        if day is None:
            errors["date"] = [_("Give a date (YYYY-MM-DD).")]
        raw = params.get("duration") or ""
        minutes = int(raw) if raw.isdigit() else 0
        if not 5 <= minutes <= 12 * 60:
            errors["duration"] = [_("Give a duration in minutes (5–720).")]
        if errors:
            raise ServiceError(_("Check the input."), errors=errors)
        attendee_ids = _ids_param(params, "attendees")
        attendees = list(User.objects.filter(pk__in=attendee_ids, is_active=True))
        if len(attendees) != len(set(attendee_ids)):
            raise ServiceError(_("Unknown user."), field="attendees")
        if request.user.pk not in attendee_ids:
            attendees.append(request.user)
        room_ids = _ids_param(params, "rooms")
        with_room = params.get("with_room") in ("1", "true") or bool(room_ids)
        rooms = selectors.rooms_for(len(attendees), room_ids) if with_room else None
        rows = selectors.free_slots(
            day=day, duration=dt.timedelta(minutes=minutes), attendees=attendees, rooms=rooms
        )
        return Response(
            {
                "date": day.isoformat(),
                "duration": minutes,
                "results": [
                    {
                        "room": r.room.pk if r.room else None,
                        "room_name": r.room.name if r.room else "",
                        "slots": [
                            {"start": s.isoformat(), "end": e.isoformat()} for s, e in r.slots
                        ],
                    }
                    for r in rows
                ],
            }
        )


class MeetingRoomSerializer(serializers.ModelSerializer):
    equipment = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=30
    )

    class Meta:
        model = MeetingRoom
        fields = [
            "id",
            "name",
            "location",
            "capacity",
            "equipment",
            "description",
            "is_active",
            "order",
        ]
        extra_kwargs = {"capacity": {"min_value": 1, "max_value": 1000}}

    def create(self, validated_data):
        room = MeetingRoom(**validated_data)
        return services.meeting_room_save(room=room, by=self.context["request"].user)

    def update(self, instance, validated_data):
        for key, value in validated_data.items():
            setattr(instance, key, value)
        return services.meeting_room_save(room=instance, by=self.context["request"].user)


class ReadForSignedInWriteWithPerms(permissions.DjangoModelPermissions):
    """Every signed-in colleague sees the rooms; changing them needs the model permissions."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class MeetingRoomViewSet(viewsets.ModelViewSet):
    """Meeting rooms. `?active=1` lists bookable ones; `GET {id}/bookings/?date=` its day."""

    serializer_class = MeetingRoomSerializer
    permission_classes = [ReadForSignedInWriteWithPerms]
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "location"]
    ordering_fields = ["id", "name", "capacity", "order"]
    ordering = ["order", "name"]

    def get_queryset(self):
        qs = MeetingRoom.objects.all()
        if self.request.query_params.get("active") in ("1", "true"):
            qs = qs.active()
        capacity = self.request.query_params.get("capacity") or ""
        if capacity.isdigit():
            qs = qs.filter(capacity__gte=int(capacity))
        return qs

    def perform_destroy(self, instance):
        services.meeting_room_delete(room=instance, by=self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE)],
        responses=inline_serializer(
            "RoomBooking",
            {
                "id": serializers.IntegerField(),
                "title": serializers.CharField(),
                "start": serializers.DateTimeField(),
                "end": serializers.DateTimeField(),
                "visible": serializers.BooleanField(),
            },
            many=True,
        ),
    )
    @action(detail=True, methods=["get"])
    def bookings(self, request, pk=None):
        """The room's confirmed bookings on `date` (default today); titles of events the
        caller may not see read "Booked"."""
        from django.utils import timezone

        raw = request.query_params.get("date")
        day = parse_date(raw) if raw else timezone.localdate()
        if day is None:
            raise ServiceError(_("Give a date (YYYY-MM-DD)."), field="date")
        rows = selectors.room_day(user=request.user, room=self.get_object(), day=day)
        return Response(
            [
                {
                    "id": e.pk,
                    "title": e.title if e.visible else _("Booked"),
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat(),
                    "visible": e.visible,
                }
                for e in rows
            ]
        )


def register(router) -> None:
    router.register("events", EventViewSet, basename="event")
    router.register("meeting-rooms", MeetingRoomViewSet, basename="meeting-room")
