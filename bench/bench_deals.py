"""Deals (issue 5): kanban board, opportunity list and weighted forecast at 1M opportunities on
PostgreSQL.

1. Generation (skipped when the rows exist): 2,000 customers, one pipeline of six stages and
   BENCH_SCALE × 1,000,000 opportunities written by one INSERT … SELECT generate_series (spread
   over stages, 100 owners, 24 close months; one rep owns 10,000). ANALYZE follows.
2. Measurements (server time through django.test.Client, session auth, so each request loads
   the user and permissions like a browser):
   - GET /sales/opportunities/board/ as the rep (10k visible) and as a boss ("all" scope, 1M);
     queries per request;
   - GET /sales/opportunities/ (first page) and GET /api/v1/opportunities/ as both;
   - `selectors.forecast` (6 months × owner) as both, and the forecast page.

Scale: BENCH_SCALE (default 1 = 1M opportunities); BENCH_CLEAN=1 deletes the rows at the end.
Run it on a dedicated database (DATABASE_URL=postgres://…/weft_deals).
"""

from __future__ import annotations

import os

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client

from apps.customers.models import Customer
from apps.org.models import Department, User
from apps.org.services import role_scope_set
from apps.sales.models import Opportunity, Pipeline, Stage
from apps.sales.selectors import deals as selectors

from .util import report, timed

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N = max(1000, int(1_000_000 * SCALE))
REP_ROWS = min(10_000, N // 2)
N_OWNERS = 100
PREFIX = "benchdeal"
STAGES = [
    ("接洽", 10, False, False),
    ("需求", 30, False, False),
    ("报价", 60, False, False),
    ("谈判", 80, False, False),
    ("赢单", 100, True, False),
    ("输单", 0, False, True),
]


def _setup():
    dept, _c = Department.objects.get_or_create(name=f"{PREFIX}-销售部", parent=None)
    users = []
    for i in range(N_OWNERS):
        u, _c = User.objects.get_or_create(
            username=f"{PREFIX}{i}", defaults={"department": dept, "display_name": f"代表{i}"}
        )
        users.append(u)
    boss, _c = User.objects.get_or_create(username=f"{PREFIX}-boss", defaults={"department": dept})
    perms = Permission.objects.filter(
        codename__in=["view_opportunity", "change_opportunity", "view_customer", "view_quote"]
    )
    for name, members, scope in (
        (f"{PREFIX}-reps", users, "own"),
        (f"{PREFIX}-boss", [boss], "all"),
    ):
        role, _c = Group.objects.get_or_create(name=name)
        role.permissions.add(*perms)
        role_scope_set(role=role, model=Opportunity, scope=scope)
        role_scope_set(role=role, model=Customer, scope=scope)
        for m in members:
            m.groups.add(role)
    pipeline, created = Pipeline.objects.get_or_create(name=f"{PREFIX}-pipeline")
    if created:
        for order, (name, prob, won, lost) in enumerate(STAGES):
            Stage.objects.create(
                pipeline=pipeline,
                name=name,
                order=order,
                probability=prob,
                is_won=won,
                is_lost=lost,
            )
    if not Customer.objects.filter(name__startswith=PREFIX).exists():
        Customer.objects.bulk_create(
            [
                Customer(
                    name=f"{PREFIX}客户{i}",
                    name_normalized=f"{PREFIX}{i}",
                    owner=users[i % N_OWNERS],
                    department=dept,
                )
                for i in range(2000)
            ],
            batch_size=1000,
        )
    return dept, users, boss, pipeline


def _generate(dept, users, pipeline):
    have = Opportunity.objects.filter(pipeline=pipeline).count()
    if have >= N:
        return have
    stages = list(
        Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("pk", "probability")
    )
    customers = list(
        Customer.objects.filter(name__startswith=PREFIX).order_by("pk").values_list("pk", flat=True)
    )
    owner_ids = [u.pk for u in users]
    sql = """
        INSERT INTO sales_opportunity (name, customer_id, amount, pipeline_id, stage_id,
            probability, expected_close_date, status, lost_reason, description, owner_id,
            department_id,
            created_at, updated_at, stage_changed_at, last_activity_at, custom)
        SELECT %(prefix)s || g, (%(customers)s)[1 + g %% %(nc)s],
            (1000 + (g * 37) %% 500000)::numeric,
            %(pipeline)s, (%(stages)s)[1 + g %% 6], (%(probs)s)[1 + g %% 6],
            (current_date + ((g %% 730) - 365))::date,
            CASE g %% 6 WHEN 4 THEN 'won' WHEN 5 THEN 'lost' ELSE 'open' END,
            '', '',
            CASE WHEN g <= %(rep_rows)s THEN %(rep)s ELSE (%(owners)s)[1 + g %% %(no)s] END,
            %(dept)s,
            now() - (g %% 400) * interval '1 day', now() - (g %% 400) * interval '1 hour',
            now() - (g %% 60) * interval '1 day', now() - (g %% 30) * interval '1 day', '{}'::jsonb
        FROM generate_series(%(start)s, %(end)s) AS g
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "prefix": PREFIX,
                "customers": customers,
                "nc": len(customers),
                "pipeline": pipeline.pk,
                "stages": [s for s, _p in stages],
                "probs": [p for _s, p in stages],
                "rep_rows": REP_ROWS,
                "rep": owner_ids[0],
                "owners": owner_ids[1:],
                "no": len(owner_ids) - 1,
                "dept": dept.pk,
                "start": have + 1,
                "end": N,
            },
        )
        cursor.execute("ANALYZE sales_opportunity")
    return N


def _page(client, url, label):
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    stats = timed(lambda: client.get(url), repeat=15, warmup=2)
    # The query count of each page is asserted constant by tests/sales/test_deals_views.py.
    report(label, stats)


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_deals needs PostgreSQL (DATABASE_URL=postgres://...)")  # noqa: T201
        return
    dept, users, boss, pipeline = _setup()
    n = _generate(dept, users, pipeline)
    print(f"{n:,} opportunities; rep sees {REP_ROWS:,}, boss sees all")  # noqa: T201
    for who, user in (("rep", users[0]), ("boss", boss)):
        client = Client()
        client.force_login(user)
        _page(client, f"/sales/opportunities/board/?pipeline={pipeline.pk}", f"board page, {who}")
        _page(client, f"/sales/opportunities/?pipeline={pipeline.pk}", f"list page, {who}")
        _page(client, f"/api/v1/opportunities/?pipeline={pipeline.pk}", f"API list, {who}")
        _page(client, f"/sales/forecast/?pipeline={pipeline.pk}", f"forecast page, {who}")
        fresh = User.objects.get(pk=user.pk)
        report(
            f"forecast selector 6 months × owner, {who}",
            timed(
                lambda u=fresh: selectors.forecast(user=u, filters={"pipeline": str(pipeline.pk)}),
                repeat=20,
                warmup=2,
            ),
        )
    if os.environ.get("BENCH_CLEAN"):
        Opportunity.objects.filter(pipeline=pipeline).delete()
        Customer.objects.filter(name__startswith=PREFIX).delete()
