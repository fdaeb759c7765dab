"""Fault drills against the production stack (bench/stack.py), all through HTTP as the demo users.

    .venv/bin/python bench/faults.py [worker] [postgres] [redis] [disk]     # `make faults`: all

CAREFUL: `postgres` and `redis` restart this machine's PostgreSQL cluster and Redis server,
which everything else on the machine uses too. Run them on a machine of your own.

1. worker — an automation rule (customer created, name contains the drill's tag → notify the
   owner, set level A) is added; sales1 creates 60 customers through the API; when about a
   third of the runs are done, worker w1's whole process group gets SIGKILL and is started
   again (what systemd's Restart=always does). Jobs are acknowledged late; what the dead worker
   held is re-queued by beat's "re-queue lost automation work" job (every 5 minutes, work older
   than 2 minutes). Checked at the end: one run per customer, all succeeded, exactly one
   notification and level A per customer — nothing lost, nothing done twice.
2. postgres — while a writer logs follow-ups and creates customers (API, one every 0.2 s) and a
   reader loads pages, `pg_ctlcluster <ver> main restart`. Counted: failed requests, seconds
   until requests succeed again; checked: every write that answered 201 is in the database,
   /healthz/full/ green again without restarting anything.
3. redis — the same load; `redis-cli shutdown nosave` (broker and cache lose everything), then
   Redis is started again with the command line and settings it had. Same checks, plus: the
   automation work of the customers created around the outage is done (via the sweeper).
4. disk — a 2 MB tmpfs is mounted over the stack's upload folders and filled; a document
   upload (API), a task comment with an attachment (API) and a customer import (page) must
   answer a clear "storage is full" error and leave no record and no file behind.

Prints one JSON summary (also written to bench/results/faults-<stamp>.json).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack  # noqa: E402
from bench.journey import Api, session_login  # noqa: E402

os.environ.update(stack.stack_env())
N_CUSTOMERS = 60
RESULTS = stack.ROOT / "bench" / "results"


def django_setup() -> None:
    import django

    django.setup()


# --- load while a service restarts -----------------------------------------------------------
class Traffic:
    """A writer (follow-ups and customers through the API) and a reader (pages), recording
    every outcome with its time."""

    def __init__(self, tag: str):
        self.tag = tag  # unique per drill: customer names must not repeat (duplicates are 400)
        self.api = Api(stack.BASE_URL, "sales1")
        self.web = session_login(stack.BASE_URL, "sales1")
        self.customer = self.api.get("customers/", owner="me", page_size=1)["results"][0]["id"]
        self.results: list[tuple[float, str, int]] = []  # (time, kind, status; 0 = no answer)
        self.followups: list[int] = []
        self.customers: list[int] = []
        self.stop = threading.Event()
        self.n = 0

    def _record(self, kind: str, fn) -> None:
        try:
            res = fn()
            status = res.status_code
        except Exception:  # noqa: BLE001 - a refused connection counts as a failure
            res, status = None, 0
        self.results.append((time.monotonic(), kind, status))
        return res if status in (200, 201) else None

    def writer(self) -> None:
        while not self.stop.is_set():
            self.n += 1
            if self.n % 2:
                res = self._record(
                    "write",
                    lambda: self.api.http.post(
                        f"{stack.BASE_URL}/api/v1/follow-ups/",
                        json={
                            "customer": self.customer,
                            "kind": "call",
                            "content": f"fault drill {self.tag} #{self.n}",
                            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                        },
                        timeout=30,
                    ),
                )
                if res is not None:
                    self.followups.append(res.json()["id"])
            else:
                res = self._record(
                    "write",
                    lambda: self.api.http.post(
                        f"{stack.BASE_URL}/api/v1/customers/",
                        json={"name": f"故障演练{self.tag}客户{self.n}", "province": "上海"},
                        timeout=30,
                    ),
                )
                if res is not None:
                    self.customers.append(res.json()["id"])
            time.sleep(0.2)

    def reader(self) -> None:
        while not self.stop.is_set():
            self._record("read", lambda: self.web.get(f"{stack.BASE_URL}/customers/", timeout=30))
            time.sleep(0.2)

    def __enter__(self):
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.writer, self.reader)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def summary(self, t_fault: float, t_back: float) -> dict:
        failed = [r for r in self.results if r[2] not in (200, 201)]
        after = [r for r in self.results if r[0] > t_back + 5]
        last_failure = max((r[0] for r in failed), default=None)
        return {
            "requests": len(self.results),
            "failed": len(failed),
            "failed_by_status": {
                str(s): sum(1 for r in failed if r[2] == s) for s in {r[2] for r in failed}
            },
            "outage_s": round(t_back - t_fault, 1),
            "last_failure_after_service_back_s": round(last_failure - t_back, 1)
            if last_failure
            else None,
            "failed_5s_after_service_back": sum(1 for r in after if r[2] not in (200, 201)),
            "writes_acknowledged": len(self.followups) + len(self.customers),
        }


def writes_kept(traffic: Traffic) -> dict:
    from django.db import connections

    from apps.customers.models import Customer, FollowUp

    connections.close_all()  # this script's own connection did not outlive a restart

    kept_f = FollowUp.objects.filter(pk__in=traffic.followups).count()
    kept_c = Customer.objects.filter(pk__in=traffic.customers).count()
    return {
        "follow_ups_201": len(traffic.followups),
        "follow_ups_in_db": kept_f,
        "customers_201": len(traffic.customers),
        "customers_in_db": kept_c,
        "no_write_lost": kept_f == len(traffic.followups) and kept_c == len(traffic.customers),
    }


def wait_healthy(timeout: float = 300) -> float:
    t0 = time.monotonic()
    stack.wait_green(timeout)
    return round(time.monotonic() - t0, 1)


def restart_drill(name: str, tag: str, restart) -> dict:
    with Traffic(f"{tag}{name}") as traffic:
        time.sleep(5)
        t_fault = time.monotonic()
        restart()
        t_back = time.monotonic()
        time.sleep(25)
    result = traffic.summary(t_fault, t_back)
    result["healthz_full_green_after_s"] = wait_healthy()
    result.update(writes_kept(traffic))
    result["customers"] = traffic.customers
    print(name, json.dumps({k: v for k, v in result.items() if k != "customers"}))
    return result


def restart_postgres() -> None:
    version = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)  # noqa: S607


def redis_command_line() -> list[str]:
    """redis-server with the settings the running one has (it was started without a file)."""

    def get(key: str) -> str:
        out = subprocess.run(
            ["redis-cli", "config", "get", key], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return out[1] if len(out) > 1 else ""

    argv = ["redis-server", "--port", get("port"), "--bind", *get("bind").split()]
    for key in ("dir", "logfile", "save", "appendonly", "daemonize", "protected-mode"):
        argv += [f"--{key}", get(key)]
    return argv


def restart_redis() -> None:
    argv = redis_command_line()
    print("redis will be started again with:", shlex.join(argv))
    subprocess.run(["redis-cli", "shutdown", "nosave"], check=False)  # noqa: S607
    time.sleep(1)
    subprocess.run(argv, check=True)  # daemonizes
    for _ in range(50):
        if subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() == (
            "PONG"
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("redis did not come back")


# --- automation under a killed worker --------------------------------------------------------
def make_rule(tag: str):
    from django.contrib.contenttypes.models import ContentType

    from apps.customers.models import Customer
    from apps.studio.models import AutomationRule, RuleAction, RuleCondition

    rule = AutomationRule.objects.create(
        name=f"fault drill {tag}",
        content_type=ContentType.objects.get_for_model(Customer),
        trigger="created",
    )
    RuleCondition.objects.create(rule=rule, field="name", operator="contains", value=tag)
    RuleAction.objects.create(
        rule=rule, kind="notify", order=0, params={"owner": True, "message": "drill {customer}"}
    )
    RuleAction.objects.create(
        rule=rule, kind="set_field", order=1, params={"field": "level", "value": "A"}
    )
    return rule


def automation_outcome(rule, customer_ids: list[int], timeout: float = 600) -> dict:
    """Wait (for the workers and beat's sweeper) until every customer's run is done."""
    from django.db import connections

    from apps.customers.models import Customer
    from apps.notify.models import Notification
    from apps.studio.models import RuleRun

    connections.close_all()
    t0 = time.monotonic()
    runs = RuleRun.objects.filter(rule=rule, object_id__in=customer_ids)
    while time.monotonic() - t0 < timeout:
        if runs.filter(status="succeeded").count() >= len(customer_ids):
            break
        time.sleep(5)
    notes = Notification.objects.filter(target_id__in=customer_ids, message__startswith="drill ")
    result = {
        "customers": len(customer_ids),
        "runs": runs.count(),
        "succeeded": runs.filter(status="succeeded").count(),
        "retried_runs": runs.filter(attempts__gt=1).count(),
        "notifications": notes.count(),
        "customers_notified": notes.values("target_id").distinct().count(),
        "level_a": Customer.objects.filter(pk__in=customer_ids, level="A").count(),
        "waited_s": round(time.monotonic() - t0),
    }
    n = len(customer_ids)
    result["nothing_lost_nothing_doubled"] = (
        result["runs"] == result["succeeded"] == result["notifications"] == n
        and result["customers_notified"] == result["level_a"] == n
    )
    return result


def worker_drill(tag: str, rule) -> dict:
    from apps.studio.models import RuleRun

    api = Api(stack.BASE_URL, "sales1")
    ids = []
    killed_at = None
    for i in range(N_CUSTOMERS):
        ids.append(
            api.post("customers/", {"name": f"故障演练{tag}批量{i}", "province": "上海"}, 201)["id"]
        )
    runs = RuleRun.objects.filter(rule=rule, object_id__in=ids)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = runs.filter(status="succeeded").count()
        if done >= N_CUSTOMERS // 3:
            killed_at = {"succeeded": done, "running": runs.filter(status="running").count()}
            stack.kill("w1", signal.SIGKILL)
            break
        time.sleep(0.1)
    time.sleep(2)
    stack.start(prepare_db=False, wait=False)  # what Restart=always does
    return {"killed_with": killed_at, "customer_ids": ids}


# --- a full upload disk ------------------------------------------------------------------------
def disk_drill(tag: str) -> dict:
    from apps.customers.models import Customer
    from apps.docs.models import Document, DocumentVersion
    from apps.studio.models import ImportJob
    from apps.tasks.models import TaskAttachment, TaskComment

    files = stack.STACK_DIR / "files"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "weft-drill", str(files)], check=True)  # noqa: S607
    result: dict = {
        "filesystem": "tmpfs 2 MB mounted over the stack's MEDIA_ROOT and PRIVATE_MEDIA_ROOT"
    }
    try:
        for sub in ("media", "private_media"):
            (files / sub).mkdir()
        filler = files / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            result["filled"] = exc.strerror
        finally:
            os.close(fd)
        before = {
            "documents": Document.objects.count(),
            "versions": DocumentVersion.objects.count(),
            "comments": TaskComment.objects.count(),
            "attachments": TaskAttachment.objects.count(),
            "import_jobs": ImportJob.objects.count(),
            "customers": Customer.objects.count(),
        }
        api = Api(stack.BASE_URL, "sales1")
        body = ("# 演练文档\n\n" + "内容 " * 4000).encode()
        res = api.http.post(
            f"{stack.BASE_URL}/api/v1/documents/",
            data={"title": f"演练文档{tag}", "body": "x"},
            files={"upload": ("演练.md", body, "text/markdown")},
            timeout=60,
        )
        result["document_upload"] = {"status": res.status_code, "body": res.json()}
        task = api.post("tasks/", {"title": f"演练任务{tag}"}, 201)
        before["comments_after_task"] = TaskComment.objects.count()
        res = api.http.post(
            f"{stack.BASE_URL}/api/v1/tasks/{task['id']}/comments/",
            data={"body": "附件"},
            files={"files": ("报价.txt", b"quote " * 20000, "text/plain")},
            timeout=60,
        )
        result["task_attachment"] = {"status": res.status_code, "body": res.json()}
        web = session_login(stack.BASE_URL, "sales1")
        page = web.get(f"{stack.BASE_URL}/customers/import/", timeout=60)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        sheet = io.StringIO()
        sheet.write("name,level,province\n")
        for i in range(3000):
            sheet.write(f"演练导入{tag}客户{i},C,上海\n")
        res = web.post(
            f"{stack.BASE_URL}/customers/import/",
            data={"kind": "customers", "csrfmiddlewaretoken": csrf},
            files={"file": ("客户.csv", sheet.getvalue().encode(), "text/csv")},
            headers={"Referer": f"{stack.BASE_URL}/customers/import/"},
            timeout=60,
        )
        shown = "存储空间已满" in res.text or "storage is full" in res.text
        result["import_page"] = {"status": res.status_code, "error_shown": shown}
        after = {
            "documents": Document.objects.count(),
            "versions": DocumentVersion.objects.count(),
            "comments": TaskComment.objects.count(),
            "attachments": TaskAttachment.objects.count(),
            "import_jobs": ImportJob.objects.count(),
            "customers": Customer.objects.count(),
        }
        left = sorted(
            str(p.relative_to(files)) for p in files.rglob("*") if p.is_file() and p != filler
        )
        result["rows_before"], result["rows_after"] = before, after
        result["files_left_behind"] = left
        result["ok"] = (
            result["document_upload"]["status"] == 507
            and result["task_attachment"]["status"] == 507
            and result["import_page"]["error_shown"]
            and after["documents"] == before["documents"]
            and after["versions"] == before["versions"]
            and after["comments"] == before["comments_after_task"]
            and after["attachments"] == before["attachments"]
            and after["import_jobs"] == before["import_jobs"]
            and after["customers"] == before["customers"]
            and not left
        )
    finally:
        subprocess.run(["umount", str(files)], check=False)  # noqa: S607
        for sub in ("media", "private_media"):
            (files / sub).mkdir(exist_ok=True)
    print("disk", json.dumps(result, ensure_ascii=False))
    return result


def main(argv: list[str]) -> int:
    drills = argv or ["worker", "postgres", "redis", "disk"]
    if stack.health()[0] != 200:
        stack.start()
    django_setup()
    tag = time.strftime("F%H%M%S")
    out: dict = {"tag": tag}
    rule = make_rule(tag) if {"worker", "postgres", "redis"} & set(drills) else None
    pending: list[int] = []
    if "worker" in drills:
        killed = worker_drill(tag, rule)
        out["worker_killed_with"] = killed["killed_with"]
        pending += killed["customer_ids"]
    if "postgres" in drills:
        out["postgres"] = restart_drill("postgres", tag, restart_postgres)
        pending += out["postgres"].pop("customers")
    if "redis" in drills:
        out["redis"] = restart_drill("redis", tag, restart_redis)
        pending += out["redis"].pop("customers")
    if pending:
        out["automation"] = automation_outcome(rule, pending)
        print("automation", json.dumps(out["automation"]))
    if "disk" in drills:
        out["disk"] = disk_drill(tag)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"faults-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out, indent=2, ensure_ascii=False))
    ok = all(
        [
            out.get("automation", {}).get("nothing_lost_nothing_doubled", True),
            all(out[k]["no_write_lost"] for k in ("postgres", "redis") if k in out),
            # Recovered by itself: nothing fails once the service has been back for 5 s.
            all(
                out[k]["failed_5s_after_service_back"] == 0
                for k in ("postgres", "redis")
                if k in out
            ),
            out.get("disk", {}).get("ok", True),
        ]
    )
    print("RESULT:", "all drills passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
