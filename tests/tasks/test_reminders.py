from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.notify.models import Notification
from apps.tasks import services
from apps.tasks import tasks as jobs
from apps.tasks.models import Task

from .conftest import fresh, make_task


def verbs():
    return sorted(Notification.objects.values_list("recipient__username", "verb"))


def test_reminder_due_soon_and_overdue_fire_once(org):
    now = timezone.now()
    remind = make_task(
        org.alice,
        title="Remind",
        due_at=now + dt.timedelta(days=3),
        remind_at=now - dt.timedelta(minutes=1),
    )
    soon = make_task(org.alice, title="Soon", due_at=now + dt.timedelta(hours=5))
    late = make_task(
        org.manager, title="Late", assignee=org.alice, due_at=now - dt.timedelta(hours=1)
    )
    far = make_task(org.alice, title="Far", due_at=now + dt.timedelta(days=5))
    done = make_task(org.alice, title="Done", due_at=now - dt.timedelta(hours=1))
    services.task_set_status(task=done, status=Task.Status.DONE, by=fresh(org.alice))
    Notification.objects.all().delete()

    counts = services.tasks_remind_due(now=now)
    assert counts == {"reminded": 1, "due_soon": 1, "overdue": 1}
    assert verbs() == [
        ("alice", "tasks.due_soon"),
        ("alice", "tasks.overdue"),
        ("alice", "tasks.reminder"),
        ("manager", "tasks.overdue"),
    ]
    # Idempotent: a second run finds nothing new.
    assert services.tasks_remind_due(now=now) == {"reminded": 0, "due_soon": 0, "overdue": 0}
    assert Task.objects.get(pk=far.pk).due_soon_notified_at is None
    assert Task.objects.get(pk=remind.pk).reminded_at is not None
    assert Task.objects.get(pk=soon.pk).due_soon_notified_at is not None
    assert late.events.filter(kind="overdue").exists()


def test_new_due_date_rearms_the_notices(org):
    now = timezone.now()
    task = make_task(org.alice, title="Late", due_at=now - dt.timedelta(hours=1))
    services.tasks_remind_due(now=now)
    services.task_update(
        task=task, by=fresh(org.alice), data={"due_at": now + dt.timedelta(hours=2)}
    )
    task.refresh_from_db()
    assert task.overdue_notified_at is None and task.due_soon_notified_at is None
    Notification.objects.all().delete()
    assert services.tasks_remind_due(now=now)["due_soon"] == 1


def test_celery_job_runs_the_service(org):
    make_task(org.alice, title="Late", due_at=timezone.now() - dt.timedelta(minutes=5))
    result = jobs.tasks_remind_due.delay().get()
    assert result["overdue"] == 1


def test_beat_schedule_exists(db):
    from django_celery_beat.models import PeriodicTask

    row = PeriodicTask.objects.get(task="apps.tasks.tasks.tasks_remind_due")
    assert row.interval.every == 5 and row.enabled
