"""Models of the tasks app: one module per area, re-exported here (calendar models live in
`calendar.py`, tasks and the to-do inbox's own rows in `tasks.py`)."""

from .tasks import Task, TaskAttachment, TaskComment, TaskEvent, TaskParticipant

__all__ = ["Task", "TaskAttachment", "TaskComment", "TaskEvent", "TaskParticipant"]
