"""Demo data of the tasks app (found by seed_demo's autodiscovery)."""

from . import calendar_demo  # noqa: F401 - registers the calendar seeder
