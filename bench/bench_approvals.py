"""Approvals: engine throughput and the inbox page with 10k pending tasks.

1. Throughput of the whole path through the services, each call its own transaction as in
   production: start a request on a three-step template, then three approvers approve one
   after the other (each step: lock, viewflow transition, timeline row, notifications).
   Reported as completed approvals (requests) per second and per-call latencies.
2. The inbox of one approver holding 10,000 pending tasks: p50/p95 server time of
   GET /approvals/inbox/ (first and a deep page) and of GET /api/v1/approval-tasks/ through
   django.test.Client, and the number of queries, compared with the same pages at 10 tasks.
   The 10k rows are bulk-inserted as the services create them (request, viewflow process,
   assigned task), then ANALYZEd as autovacuum would; the 10 rows are made by the services.

Everything created is deleted at the end.
"""

from __future__ import annotations

import time
import uuid

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS
from viewflow.workflow.token import Token

from apps.approvals import services
from apps.approvals.chain import freeze
from apps.approvals.flows import ApprovalFlow
from apps.approvals.models import (
    ApprovalParticipant,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTemplate,
    ApproverType,
)
from apps.approvals.selectors import pending_tasks_for
from apps.notify.models import Notification
from apps.org.models import Department, User

from .util import report, timed

N_FLOWS = 200
N_INBOX = 10_000


def main() -> None:
    tag = uuid.uuid4().hex[:6]
    created: dict[str, list] = {"users": [], "templates": [], "dept": []}
    try:
        _run(tag, created)
    finally:
        _cleanup(created)


def _users(tag, created):
    dept = Department.objects.create(name=f"bench-{tag}")
    created["dept"].append(dept)

    def user(name, **kw):
        u = User.objects.create_user(f"bench-{tag}-{name}", department=dept, **kw)
        created["users"].append(u)
        return u

    boss = user("boss")
    manager = user("manager", manager=boss)
    finance = user("finance", manager=boss)
    rep = user("rep", manager=manager)
    inbox_owner = user("inbox", manager=boss)
    return rep, manager, finance, boss, inbox_owner


def _template(tag, created, code, steps):
    template = ApprovalTemplate.objects.create(code=f"bench-{tag}-{code}", name=code)
    created["templates"].append(template)
    for i, (kind, users) in enumerate(steps):
        step = ApprovalStep.objects.create(
            template=template, order=i, name=f"S{i + 1}", approver_type=kind
        )
        step.approver_users.set(users)
    return template


def _run(tag, created) -> None:
    rep, manager, finance, boss, inbox_owner = _users(tag, created)
    three = _template(
        tag,
        created,
        "three",
        [(ApproverType.MANAGER, []), (ApproverType.USERS, [finance]), (ApproverType.USERS, [boss])],
    )

    # --- 1. throughput -----------------------------------------------------------------
    for _ in range(5):  # warm-up
        _one_flow(three, rep, manager, finance, boss)
    starts, approves = [], []
    t0 = time.perf_counter()
    for _ in range(N_FLOWS):
        _one_flow(three, rep, manager, finance, boss, starts, approves)
    elapsed = time.perf_counter() - t0
    starts.sort()
    approves.sort()
    print(
        f"{'start + 3-step approval through services (' + str(N_FLOWS) + ' requests)':<58} "
        f"{N_FLOWS / elapsed:10.1f} approvals/s  ({elapsed / N_FLOWS * 1000:.1f} ms each)"
    )
    print(
        f"{'  approval_start':<58} p50 {starts[len(starts) // 2]:8.3f} ms   "
        f"p95 {starts[int(len(starts) * 0.95) - 1]:8.3f} ms"
    )
    print(
        f"{'  approval_task_approve':<58} p50 {approves[len(approves) // 2]:8.3f} ms   "
        f"p95 {approves[int(len(approves) * 0.95) - 1]:8.3f} ms"
    )

    # --- 2. the inbox ------------------------------------------------------------------
    one = _template(tag, created, "one", [(ApproverType.USERS, [inbox_owner])])
    for i in range(10):
        services.approval_start(template=one, by=rep, title=f"small {i}")
    client = Client()
    client.force_login(inbox_owner)
    small = {url: _queries(client, url) for url in _urls()}
    for url in _urls()[::2]:
        report(
            f"GET {url} with 10 pending",
            timed(lambda url=url: client.get(url), repeat=50, warmup=5),
        )
    _bulk_pending(one, rep, inbox_owner, N_INBOX - 10)
    if connection.vendor == "postgresql":
        # What autovacuum does after a load like this one; without statistics the planner
        # believes the tables are empty.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE viewflow_task, viewflow_process, approvals_approvalrequest")
    assert pending_tasks_for(inbox_owner).count() == N_INBOX
    for url in _urls():
        n = _queries(client, url)
        report(
            f"GET {url} with {N_INBOX:,} pending ({n} queries, {small[url]} at 10)",
            timed(lambda url=url: client.get(url), repeat=100, warmup=10),
        )
        if n != small[url]:
            print(f"  !! query count changed: {small[url]} at 10 tasks, {n} at {N_INBOX}")


def _urls():
    return ["/approvals/inbox/", "/approvals/inbox/?page=400", "/api/v1/approval-tasks/"]


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return len(ctx.captured_queries)


def _one_flow(template, rep, manager, finance, boss, starts=None, approves=None) -> None:
    t = time.perf_counter()
    request = services.approval_start(template=template, by=rep, title="bench", amount="100")
    if starts is not None:
        starts.append((time.perf_counter() - t) * 1000)
    for approver in (manager, finance, boss):
        task = Task.objects.filter(
            owner=approver, status=STATUS.ASSIGNED, process_id=request.process_id
        ).get()
        t = time.perf_counter()
        services.approval_task_approve(task=task, by=approver)
        if approves is not None:
            approves.append((time.perf_counter() - t) * 1000)
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED


def _bulk_pending(template, rep, owner, n) -> None:
    """n pending requests, each with its viewflow process and one assigned task, in bulk."""
    chain = freeze(template)
    approve_ref = Task._meta.get_field("flow_task").get_prep_value(ApprovalFlow.approve)
    flow_ref = Process._meta.get_field("flow_class").get_prep_value(ApprovalFlow)
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(ApprovalRequest)
    batch = 1000
    for offset in range(0, n, batch):
        size = min(batch, n - offset)
        with transaction.atomic():
            requests = ApprovalRequest.objects.bulk_create(
                [
                    ApprovalRequest(
                        template=template,
                        title=f"bulk {offset + i}",
                        initiator=rep,
                        department=rep.department,
                        chain=chain,
                        current_step=0,
                    )
                    for i in range(size)
                ]
            )
            processes = Process.objects.bulk_create(
                [
                    Process(
                        flow_class=flow_ref,
                        status=PROCESS.NEW,
                        artifact_content_type=ct,
                        artifact_object_id=r.pk,
                        data={"round": 1, "step_index": 0},
                    )
                    for r in requests
                ]
            )
            for r, p in zip(requests, processes, strict=True):
                r.process_id = p.pk
            ApprovalRequest.objects.bulk_update(requests, ["process"])
            Task.objects.bulk_create(
                [
                    Task(
                        process=p,
                        flow_task=approve_ref,
                        flow_task_type="HUMAN",
                        status=STATUS.ASSIGNED,
                        owner=owner,
                        token=Token("start/1_1"),
                        data={"approver": owner.pk, "step": 0, "fallback": False},
                    )
                    for p in processes
                ]
            )
            ApprovalParticipant.objects.bulk_create(
                [ApprovalParticipant(request=r, user=owner, kind="approver") for r in requests]
            )


def _cleanup(created) -> None:
    users = created["users"]
    templates = created["templates"]
    requests = ApprovalRequest.objects.filter(template__in=templates)
    process_ids = list(requests.exclude(process=None).values_list("process_id", flat=True))
    ct_ids = Process.objects.filter(artifact_object_id__in=requests.values("pk"))
    with transaction.atomic():
        all_processes = set(process_ids) | set(
            ct_ids.filter(flow_class=ApprovalFlow).values_list("pk", flat=True)
        )
        Task.previous.through.objects.filter(from_task__process_id__in=all_processes).delete()
        Task.objects.filter(process_id__in=all_processes).delete()
        requests.delete()
        Process.objects.filter(pk__in=all_processes).delete()
        Notification.objects.filter(recipient__in=users).delete()
        ApprovalStep.objects.filter(template__in=templates).delete()
        ApprovalTemplate.objects.filter(pk__in=[t.pk for t in templates]).delete()
        User.objects.filter(pk__in=[u.pk for u in users]).delete()
        Department.objects.filter(pk__in=[d.pk for d in created["dept"]]).delete()
