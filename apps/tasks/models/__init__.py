"""Models of the tasks app: one module per area, re-exported here (calendar models live in
`calendar.py`, tasks and the to-do inbox's own rows in `tasks.py`)."""

from .calendar import CalendarFeed, Event, EventAttendee, EventLog, MeetingRoom
from .tasks import Task, TaskAttachment, TaskComment, TaskEvent, TaskParticipant

__all__ = [
    "CalendarFeed",
    "Event",
    "EventAttendee",
    "EventLog",
    "MeetingRoom",
    "Task",
    "TaskAttachment",
    "TaskComment",
    "TaskEvent",
    "TaskParticipant",
]
