"""Every periodic job is scheduled in the database (django_celery_beat rows made by
migrations) and is idempotent: run on the demo company, a second run changes nothing, neither
rows (history and notifications included) nor values."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from django_celery_beat.models import PeriodicTask

from apps.org.demo import DemoContext, seeders
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db

# Scheduler bookkeeping and sign-in state: not business data a job could double.
_SKIP_APPS = {"django_celery_beat", "sessions", "axes", "contenttypes", "auth", "admin"}

# The heartbeat's whole job is to stamp "last seen" (apps/org/health.py reads it).
_CLOCKS = {"org.Heartbeat"}

EXPECTED = {
    "weft.heartbeat",
    "apps.approvals.tasks.approval_remind_overdue",
    "apps.customers.tasks.follow_up_remind_due",
    "apps.customers.tasks.ticket_flag_overdue",
    "apps.customers.tasks.pool_recycle",
    "apps.docs.tasks.announcements_notify_due",
    "apps.notify.tasks.release_quiet_deliveries",
    "apps.sales.tasks_deals.opportunities_flag_stalled",
    "apps.sales.tasks_leads.lead_escalate_stale",
    "apps.sales.tasks_contracts.payment_remind_due",
    "apps.studio.tasks.automation_daily",
    "apps.studio.tasks.automation_sweep",
    "apps.tasks.tasks.tasks_remind_due",
}


@pytest.fixture(autouse=True)
def _tasks_loaded():
    # Celery discovers tasks modules lazily (on the first worker start); load them now.
    celery_app.loader.import_default_modules()
    celery_app.autodiscover_tasks(force=True)


def snapshot() -> dict[str, tuple[int, str]]:
    """{model label: (row count, digest of every value)} for every business table."""
    out = {}
    for model in apps.get_models():
        if model._meta.app_label in _SKIP_APPS or not model._meta.managed:
            continue
        rows = model._base_manager.order_by("pk").values_list()
        digest = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
        out[model._meta.label] = (len(rows), digest)
    return out


def seed_demo_company() -> None:
    """The demo company, seeder by seeder; a seeder that cannot run in the test process is
    skipped (its jobs then simply have less work) rather than failing the idempotency check."""
    autodiscover_modules("demo")
    ctx = DemoContext(log=lambda msg: None)
    for seed in seeders():
        try:
            with transaction.atomic():
                seed(ctx)
        except PermissionDenied:
            continue


def run(periodic: PeriodicTask, capture) -> None:
    task = celery_app.tasks[periodic.task]
    with capture(execute=True):
        task.apply(
            args=json.loads(periodic.args or "[]"), kwargs=json.loads(periodic.kwargs or "{}")
        ).get()


def test_every_periodic_job_is_a_database_schedule_of_a_registered_task():
    rows = PeriodicTask.objects.exclude(task__startswith="celery.")
    names = set(rows.values_list("task", flat=True))
    assert EXPECTED <= names, EXPECTED - names
    for row in rows:
        assert row.enabled, row.name
        assert row.interval_id or row.crontab_id, row.name
        assert row.task in celery_app.tasks, row.task


def test_every_job_run_twice_changes_nothing_the_second_time(django_capture_on_commit_callbacks):
    seed_demo_company()
    jobs = list(PeriodicTask.objects.exclude(task__startswith="celery.").order_by("name"))
    # Each job once, in order, so the second pass starts from a settled state.
    for periodic in jobs:
        run(periodic, django_capture_on_commit_callbacks)
    not_idempotent = {}
    for periodic in jobs:
        before = snapshot()
        run(periodic, django_capture_on_commit_callbacks)
        after = snapshot()
        changed = sorted(k for k in after if after[k] != before.get(k) and k not in _CLOCKS)
        # A liveness clock may move its timestamp, never add a row.
        changed += sorted(k for k in _CLOCKS if after[k][0] != before[k][0])
        if changed:
            not_idempotent[periodic.task] = changed
    assert not_idempotent == {}
