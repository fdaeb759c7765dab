"""Tasks and the to-do inbox at 100,000 tasks (PostgreSQL).

Rows are written with COPY: 40 users in 4 departments (one manager with a "department tree"
scope over all of them), 100,000 tasks. The measured user has 10,000 open tasks due today or
overdue (10,000 inbox items of kind "task") among 12,500 assigned to them; the rest are spread
over the others, a third done. 2,000 tasks are subtasks (trees of 1 + 4 + 16 nodes).

Measured (p50/p95 over 200 runs after 20 warm-ups), each as the page or API does it:
* inbox — every provider's count + first 5 items (the /todos/ page and home panel);
* inbox — merged first page of 20 (the `todos/` API);
* inbox — the navigation badge (one COUNT per provider);
* task list "mine" — COUNT + first 25 rows by due date (the list page);
* task list "team" for the manager — scope over 40 people's tasks, COUNT + first 25;
* one tree's roll-up (21 nodes): one read, bulk write of what changed.
Everything created is deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
import uuid

from django.contrib.auth.models import Group, Permission
from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone

from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.tasks import inbox, selectors, services
from apps.tasks.models import Task

from .util import report, timed

N_TASKS = 100_000
N_USERS = 40
N_DEPTS = 4
INBOX_ITEMS = 10_000
MINE_EXTRA = 2_500  # the measured user's tasks that are not in the inbox (later, done)
TREES = 95  # × 21 nodes ≈ 2,000 subtasks


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_tasks needs PostgreSQL (set DATABASE_URL); skipped")
        return
    tag = uuid.uuid4().hex[:6]
    made: dict[str, list[int]] = {"users": [], "depts": [], "roles": []}
    try:
        _run(tag, made)
    finally:
        _cleanup(made)


def _copy(rows: list[tuple]) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buf.seek(0)
    cols = (
        "title, description, status, priority, assignee_id, creator_id, department_id, "
        "parent_id, root_id, depth, progress, due_at, repeat, created_at, updated_at, "
        "completed_at"
    )
    with connection.connection.cursor() as cur:
        with cur.copy(f"COPY tasks_task ({cols}) FROM STDIN") as copy:  # noqa: S608
            copy.write(buf.read())


def _row(rng, title, status, assignee, dept_id, due, now, parent=None, root=None, depth=0):
    done = now.isoformat() if status in ("done", "cancelled") else None
    return (
        title,
        "",
        status,
        rng.choice(["low", "normal", "normal", "high", "urgent"]),
        assignee.pk,
        assignee.pk,
        dept_id,
        parent,
        root,
        depth,
        100 if status == "done" else 0,
        due.isoformat() if due else None,
        "",
        (now - dt.timedelta(minutes=rng.randrange(100_000))).isoformat(),
        now.isoformat(),
        done,
    )


def _run(tag: str, made: dict) -> None:
    rng = random.Random(7)  # noqa: S311 - benchmark data
    depts = [Department.objects.create(name=f"bench-{tag}-{i}") for i in range(N_DEPTS)]
    made["depts"] = [d.pk for d in depts]
    boss_dept = Department.objects.create(name=f"bench-{tag}-top")
    made["depts"].append(boss_dept.pk)
    Department.objects.filter(pk__in=[d.pk for d in depts]).update(parent=boss_dept)
    users = [
        User.objects.create_user(f"bench-{tag}-{i}", department=depts[i % N_DEPTS])
        for i in range(N_USERS)
    ]
    manager = User.objects.create_user(f"bench-{tag}-mgr", department=boss_dept)
    made["users"] = [u.pk for u in [*users, manager]]
    role = Group.objects.create(name=f"bench-{tag}-tasks")
    made["roles"].append(role.pk)
    role.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tasks", codename__in=["view_task", "change_task"]
        )
    )
    role_scope_set(role=role, model=Task, scope=Scope.TREE)
    manager.groups.add(role)
    me = users[0]

    t0 = time.perf_counter()
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=18, minute=0, second=0, microsecond=0)
    rows = []
    for i in range(INBOX_ITEMS):  # due today or overdue, open
        due = today - dt.timedelta(hours=rng.randrange(24 * 60))
        rows.append(
            _row(rng, f"待办 {i}", rng.choice(["todo", "doing"]), me, depts[0].pk, due, now)
        )
    for i in range(MINE_EXTRA):
        status = rng.choice(["todo", "done", "cancelled"])
        due = today + dt.timedelta(days=1 + rng.randrange(60))
        rows.append(_row(rng, f"以后 {i}", status, me, depts[0].pk, due, now))
    rest = N_TASKS - INBOX_ITEMS - MINE_EXTRA - TREES * 21
    for i in range(rest):
        who = users[1 + i % (N_USERS - 1)]
        status = rng.choice(["todo", "doing", "done"])
        due = now + dt.timedelta(hours=rng.randrange(-24 * 30, 24 * 60)) if i % 4 else None
        rows.append(_row(rng, f"任务 {i}", status, who, who.department_id, due, now))
    _copy(rows)
    # Trees: a top task, 4 children, 16 grandchildren each.
    tree_roots = []
    for t in range(TREES):
        who = users[t % N_USERS]
        top = Task.objects.create(
            title=f"计划 {t}", assignee=who, creator=who, department_id=who.department_id
        )
        tree_roots.append(top)
        kids = Task.objects.bulk_create(
            [
                Task(
                    title=f"计划 {t}.{k}",
                    assignee=who,
                    creator=who,
                    parent=top,
                    root=top,
                    depth=1,
                    department_id=who.department_id,
                )
                for k in range(4)
            ]
        )
        Task.objects.bulk_create(
            [
                Task(
                    title=f"计划 {t}.{k.pk}.{g}",
                    assignee=who,
                    creator=who,
                    parent=k,
                    root=top,
                    depth=2,
                    department_id=who.department_id,
                    status=rng.choice(["todo", "done"]),
                )
                for k in kids
                for g in range(4)
            ]
        )
    with connection.cursor() as cur:
        # VACUUM too: it sets the visibility map, so counts can be index-only scans.
        cur.execute("VACUUM ANALYZE tasks_task")
        cur.execute("ANALYZE tasks_taskparticipant")
    total = Task.objects.filter(assignee_id__in=made["users"]).count()
    print(f"generated {total} tasks in {time.perf_counter() - t0:.1f} s")

    me = User.objects.get(pk=me.pk)
    print("inbox counts:", {p.kind: n for p, n in inbox.counts(me)})
    report("inbox: all kinds, counts + first 5 each", timed(lambda: inbox.sections(me, 5)))
    report(
        "inbox: merged first page of 20 (todos/ API)",
        timed(lambda: inbox.items(me, offset=0, limit=20)),
    )
    report("inbox: navigation badge (COUNT per kind)", timed(lambda: inbox.total(me)))

    def mine():
        qs = selectors.order_for_list(
            selectors.task_list(user=me, view="mine", filters={"status": list(Task.OPEN)}),
            "due",
        )
        page = Paginator(qs, 25).get_page(1)
        return page.paginator.count, list(page.object_list)

    report("task list: mine, open, by due date (count + 25)", timed(mine, repeat=100))
    mgr = User.objects.get(pk=manager.pk)

    def team():
        qs = selectors.order_for_list(selectors.task_list(user=mgr, view="team"), "")
        page = Paginator(qs, 25).get_page(1)
        return page.paginator.count, list(page.object_list)

    visible = selectors.task_list(user=mgr, view="team").count()
    print(f"manager's team view sees {visible} tasks")
    report("task list: team (tree scope), newest (count + 25)", timed(team, repeat=100))
    roots = iter(tree_roots * 3)
    report(
        "roll-up of one 21-node tree",
        timed(lambda: services.rollup_tree(next(roots).pk), repeat=200, warmup=20),
    )


def _cleanup(made: dict) -> None:
    with connection.cursor() as cur:
        if made["users"]:
            cur.execute("DELETE FROM tasks_task WHERE assignee_id = ANY(%s)", [made["users"]])
    User.objects.filter(pk__in=made["users"]).delete()
    Group.objects.filter(pk__in=made["roles"]).delete()
    for pk in reversed(made["depts"]):
        Department.objects.filter(pk=pk).update(parent=None)
    Department.objects.filter(pk__in=made["depts"]).delete()
