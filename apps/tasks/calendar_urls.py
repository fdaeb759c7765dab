"""Calendar and meeting-room pages, included from apps/tasks/urls.py (mounted at the root)."""

from django.urls import path

from . import calendar_views as views

urlpatterns = [
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/events.json", views.calendar_events, name="calendar-events"),
    path("calendar/agenda/", views.agenda, name="agenda"),
    path("calendar/new/", views.event_create, name="event-create"),
    path("calendar/free-slots/", views.free_slots, name="free-slots"),
    path("calendar/subscribe/", views.feed_settings, name="calendar-feed-settings"),
    path("calendar/subscribe/reset/", views.feed_reset, name="calendar-feed-reset"),
    path("calendar/feed/<str:token>.ics", views.feed_ics, name="calendar-feed"),
    path("calendar/<int:pk>/", views.event_detail, name="event-detail"),
    path("calendar/<int:pk>/edit/", views.event_edit, name="event-edit"),
    path("calendar/<int:pk>/cancel/", views.event_cancel, name="event-cancel"),
    path("calendar/<int:pk>/respond/", views.event_respond, name="event-respond"),
    path("rooms/", views.room_list, name="rooms"),
    path("rooms/<int:pk>/", views.room_detail, name="room-detail"),
]
