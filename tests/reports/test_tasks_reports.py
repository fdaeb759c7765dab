"""Reports over the real tasks.Task: the "tasks done" measure of team activity and the builder's
tasks source, both scoped with `visible_to`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.org.models import Scope
from apps.reports.builder.query import parse_definition, run_query
from apps.reports.builder.registry import get_source, sources_for
from apps.reports.builtin import get_builtin
from apps.reports.params import ReportParams
from apps.tasks.models import Task
from tests.org.factories import DepartmentFactory, UserFactory, make_role
from tests.tasks.factories import TaskFactory

pytestmark = pytest.mark.django_db

YEAR = ReportParams(start=dt.date(2000, 1, 1), end=dt.date(2100, 1, 1))


def people(user, params=YEAR):
    result = get_builtin("team-activity").result(user, params)
    return {r["person_id"]: r for r in result.sections[0].rows}, result.sections[0]


@pytest.fixture
def team():
    east, north = DepartmentFactory(name="华东"), DepartmentFactory(name="华北")
    a, b = UserFactory(department=east), UserFactory(department=north)
    now = timezone.now()
    for user, done in ((a, 3), (b, 1)):
        for _i in range(done):
            TaskFactory(assignee=user, status=Task.Status.DONE, completed_at=now)
    TaskFactory(assignee=a, status=Task.Status.TODO)  # open: not counted
    TaskFactory(assignee=a, status=Task.Status.CANCELLED, completed_at=now)  # not done
    TaskFactory(  # done long ago: outside the period below
        assignee=a, status=Task.Status.DONE, completed_at=now - dt.timedelta(days=800)
    )
    return {"a": a, "b": b, "east": east}


def test_team_activity_counts_done_tasks_per_assignee_in_the_period(team):
    admin = UserFactory(is_superuser=True)
    rows, section = people(admin)
    assert rows[team["a"].pk]["tasks"] == 4 and rows[team["b"].pk]["tasks"] == 1
    assert "tasks" in [c.key for c in section.columns]
    assert not any("tasks app" in str(n) for n in section.notes)
    today = timezone.localdate()
    recent = ReportParams(start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=1))
    rows, _section = people(admin, recent)
    assert rows[team["a"].pk]["tasks"] == 3
    dept = ReportParams(start=YEAR.start, end=YEAR.end, department=team["east"])
    rows, _section = people(admin, dept)
    assert team["b"].pk not in rows and rows[team["a"].pk]["tasks"] == 4


def test_team_activity_tasks_are_scoped_to_what_the_user_sees(team):
    make_role("own tasks", Task, scope=Scope.OWN, members=[team["b"]])
    rows, _section = people(team["b"])
    assert rows[team["b"].pk]["tasks"] == 1
    assert team["a"].pk not in rows  # a's tasks are not b's to see


def test_builder_tasks_source_uses_real_fields_and_scope(team):
    spec = get_source("tasks")
    assert spec is not None and spec.model is Task
    admin = UserFactory(is_superuser=True)
    assert spec in sources_for(admin)
    definition = {"dimensions": [{"field": "status"}]}
    result = run_query(parse_definition("tasks", definition, admin), admin)
    counts = {r["d0"]: r["m0"] for r in result.rows}
    assert counts == {"done": 5, "todo": 1, "cancelled": 1}
    make_role("own tasks", Task, scope=Scope.OWN, members=[team["b"]])
    mine = run_query(parse_definition("tasks", definition, team["b"]), team["b"])
    assert {r["d0"]: r["m0"] for r in mine.rows} == {"done": 1}
    nobody = UserFactory()
    assert spec not in sources_for(nobody)
