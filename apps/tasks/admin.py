from . import calendar_admin  # noqa: F401 - registers the calendar's admin pages
