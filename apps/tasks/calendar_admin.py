"""Admin for meeting rooms (admins manage them here) and a read-mostly view of events."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from apps.org.errors import ServiceError

from . import calendar_services as services
from .models import CalendarFeed, Event, EventAttendee, EventLog, MeetingRoom


@admin.register(MeetingRoom)
class MeetingRoomAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "capacity", "equipment_text", "is_active", "order"]
    list_editable = ["is_active", "order"]
    list_filter = ["is_active"]
    search_fields = ["name", "location"]
    actions = ["make_unbookable"]

    @admin.display(description=_("equipment"))
    def equipment_text(self, obj):
        return ", ".join(obj.equipment_list)

    def save_model(self, request, obj, form, change):
        services.meeting_room_save(room=obj, by=request.user)

    def delete_model(self, request, obj):
        try:
            services.meeting_room_delete(room=obj, by=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)

    def delete_queryset(self, request, queryset):
        for room in queryset:
            self.delete_model(request, room)

    @admin.action(description=_("Mark as not bookable"), permissions=["change"])
    def make_unbookable(self, request, queryset):
        for room in queryset:
            room.is_active = False
            services.meeting_room_save(room=room, by=request.user)


class AttendeeInline(admin.TabularInline):
    model = EventAttendee
    extra = 0
    fields = ["user", "response", "responded_at"]
    readonly_fields = ["user", "response", "responded_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class LogInline(admin.TabularInline):
    model = EventLog
    extra = 0
    fields = ["at", "kind", "actor", "payload"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Events are changed on the calendar pages (the booking rule and notifications live in
    the services); the admin lists them and can cancel them."""

    list_display = ["title", "start", "end", "meeting_room", "organizer", "status"]
    list_filter = ["status", "meeting_room", "all_day"]
    search_fields = ["title", "location", "organizer__username"]
    date_hierarchy = "start"
    list_select_related = ["meeting_room", "organizer"]
    readonly_fields = [
        "title",
        "description",
        "location",
        "start",
        "end",
        "all_day",
        "status",
        "organizer",
        "department",
        "meeting_room",
        "customer",
        "record_type",
        "record_id",
        "sequence",
        "created_at",
        "updated_at",
    ]
    inlines = [AttendeeInline, LogInline]
    actions = ["cancel_events"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Cancel the selected events"), permissions=["change"])
    def cancel_events(self, request, queryset):
        done = 0
        for event in queryset.filter(status=Event.Status.CONFIRMED):
            try:
                services.event_cancel(
                    event=event, by=request.user, reason=_("Cancelled by an administrator")
                )
            except ServiceError as exc:
                messages.error(request, f"{event}: {exc.message}")
            else:
                done += 1
        messages.success(request, _("%(n)d events cancelled.") % {"n": done})


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "last_used_at"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "created_at", "last_used_at"]
    exclude = ["token"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke (the user gets a new address)"), permissions=["change"])
    def revoke(self, request, queryset):
        for feed in queryset.select_related("user"):
            services.calendar_feed_reset(user=feed.user)
