from .calendar import (  # noqa: F401
    CalendarFeed,
    Event,
    EventAttendee,
    EventLog,
    MeetingRoom,
)
