"""Reliability of the automation runner: 1,000 rule runs, a worker killed with SIGKILL halfway.

Needs PostgreSQL and Redis (the production set-up):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/weft_integ \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
    .venv/bin/python bench/reliability_automation.py

1. One rule: customer created → notify the owner (a Notification row per run) and set the
   level to A (a CustomerEvent row per run).
2. A Celery worker (prefork, 2 processes) is started; 1,000 customers are created through the
   service, each its own transaction (1,000 outbox events → 1,000 runs).
3. When about a third of the runs are done the worker's whole process group gets SIGKILL;
   a new worker is started. Messages the dead worker held come back after the broker's
   visibility timeout (acks_late); the sweeper (beat's automation_sweep) re-queues the rest.
4. Checked: exactly 1,000 runs, all succeeded; exactly one notification and one "updated"
   history row per customer (nothing lost, nothing applied twice).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

N = 1000


def start_worker(log):
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    return subprocess.Popen(  # noqa: S603 - fixed command line
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.automation_worker",
            "worker",
            "-P",
            "prefork",
            "-c",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    if (
        "postgresql" not in settings.DATABASES["default"]["ENGINE"]
        or not settings.CELERY_BROKER_URL
    ):
        sys.exit("needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.customers.models import Customer, CustomerEvent
    from apps.customers.services import customer_create
    from apps.notify.models import Notification
    from apps.org.models import User
    from apps.studio.automation import engine
    from apps.studio.models import AutomationEvent, AutomationRule, RuleAction, RuleRun
    from config.celery import app

    app.control.purge()
    tag = f"rel-{int(time.time())}"
    owner = User.objects.create(username=tag)
    rule = AutomationRule.objects.create(
        name=tag, content_type=ContentType.objects.get_for_model(Customer), trigger="created"
    )
    RuleAction.objects.create(
        rule=rule, kind="notify", order=0, params={"owner": True, "message": "new {customer.name}"}
    )
    RuleAction.objects.create(
        rule=rule, kind="set_field", order=1, params={"field": "level", "value": "A"}
    )
    log = open(f"/tmp/weft-{tag}-worker.log", "w")  # noqa: SIM115, S108 - scratch log
    worker = start_worker(log)
    time.sleep(8)
    t0 = time.time()
    for i in range(N):
        customer_create(by=None, data={"name": f"{tag} 客户 {i}", "level": "C"}, owner=owner)
    print(f"created {N} customers in {time.time() - t0:.1f}s")
    runs = RuleRun.objects.filter(rule=rule)
    while runs.filter(status="succeeded").count() < N // 3:
        time.sleep(0.2)
    done_at_kill = runs.filter(status="succeeded").count()
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    print(
        f"SIGKILL to the worker with {done_at_kill}/{N} runs done, "
        f"{runs.filter(status='running').count()} running"
    )
    worker = start_worker(log)
    deadline = time.time() + 600
    try:
        while time.time() < deadline:
            if runs.filter(status="succeeded").count() == N:
                break
            # What beat's automation_sweep does every 5 minutes, sooner here.
            from apps.studio.tasks import evaluate_event, execute_run

            events, stuck = engine.pending_work(older_than=dt.timedelta(seconds=30))
            for pk in events:
                evaluate_event.delay(pk)
            for pk in stuck:
                execute_run.delay(pk)
            time.sleep(5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
    customers = Customer.objects.filter(name__startswith=tag)
    notes = Notification.objects.filter(recipient=owner)
    per_target = notes.values("target_id").distinct().count()
    updated = CustomerEvent.objects.filter(customer__in=customers, kind="updated").count()
    result = {
        "runs": runs.count(),
        "succeeded": runs.filter(status="succeeded").count(),
        "max attempts": max(runs.values_list("attempts", flat=True)),
        "retried runs": runs.filter(attempts__gt=1).count(),
        "notifications": notes.count(),
        "customers notified": per_target,
        "history rows": updated,
        "level A": customers.filter(level="A").count(),
        "pending events": AutomationEvent.objects.filter(status="pending").count(),
    }
    print(result)
    ok = (
        result["runs"] == result["succeeded"] == N
        and result["notifications"] == per_target == updated == result["level A"] == N
    )
    print("RESULT:", "no run lost, none applied twice" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
