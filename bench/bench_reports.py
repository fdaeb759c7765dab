"""Reports at scale (issue #8): 1M customers and 1M opportunities on PostgreSQL.

Targets: department funnel ≤ 150 ms, company-wide built-ins ≤ 1 s, builder group-by on a custom
field ≤ 1 s. Each timing is set against EXPLAIN ANALYZE of the report's own SQL (captured while
it runs): the ratio shows what the Python side costs on top of the database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/weft_reports \
        .venv/bin/python bench/run.py bench_reports      (BENCH_SCALE=0.01 for a quick run)

Rows are generated in SQL (INSERT … SELECT generate_series) under a marker name prefix and
removed with BENCH_CLEAN=1.
"""

from __future__ import annotations

import os
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N = int(1_000_000 * SCALE)
PREFIX = "BENCHREP"


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_reports needs PostgreSQL (DATABASE_URL=postgres://...); skipped.")
        return
    from apps.reports.builder.query import parse_definition, run_query
    from apps.reports.builtin import get_builtin
    from apps.reports.params import ReportParams, relative_range

    if os.environ.get("BENCH_JIT_OFF"):
        # Session only: what `jit = off` (recommended for this workload) would give.
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
    users = _setup()
    t0 = time.perf_counter()
    made = _generate(users)
    if made:
        print(
            f"generated {N:,} customers and {N:,} opportunities in {time.perf_counter() - t0:.0f} s"
        )
    start, end = relative_range("this_year")
    year = ReportParams(start=start, end=end)
    cases = [
        (
            "department funnel (director, tree scope)",
            users["director"],
            lambda u: get_builtin("funnel").result(u, year),
            0.150,
        ),
        (
            "company funnel (admin)",
            users["admin"],
            lambda u: get_builtin("funnel").result(u, year),
            1.0,
        ),
        (
            "company customer profile",
            users["admin"],
            lambda u: get_builtin("customer-profile").result(u, ReportParams()),
            1.0,
        ),
        (
            "company leaderboard",
            users["admin"],
            lambda u: get_builtin("leaderboard").result(u, year),
            1.0,
        ),
        (
            "builder: customers by custom field",
            users["admin"],
            lambda u: run_query(
                parse_definition("customers", {"dimensions": ["custom__bench_tier"]}, u), u
            ),
            1.0,
        ),
    ]
    for label, user, fn, budget in cases:
        fn(user)  # warm caches (scopes, field policies)
        with CaptureQueriesContext(connection) as captured:
            t = time.perf_counter()
            fn(user)
            wall = time.perf_counter() - t
        db = sum(_explain(q["sql"]) for q in captured.captured_queries)
        verdict = "OK" if wall <= budget else "OVER"
        load = os.getloadavg()[0]
        print(
            f"{label}: {wall * 1000:.0f} ms (budget {budget * 1000:.0f} ms, {verdict}); "
            f"EXPLAIN ANALYZE sum {db:.0f} ms; ratio {wall * 1000 / max(db, 0.1):.2f}; "
            f"{len(captured)} queries; load average {load:.1f}"
        )
        if os.environ.get("BENCH_PLANS"):
            for q in captured.captured_queries:
                _print_plan(q["sql"])
    if os.environ.get("BENCH_CLEAN"):
        _cleanup()


def _explain(sql: str) -> float:
    if not sql.lstrip().upper().startswith("SELECT"):
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)  # noqa: S608 - captured ORM SQL
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    return float(plan.get("Execution Time", 0.0))


def _print_plan(sql: str) -> None:
    """The plan of one slow query (BENCH_PLANS=1), to see which index it asks for."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)  # noqa: S608 - captured ORM SQL
        lines = [r[0] for r in cursor.fetchall()]
    total = next((line for line in lines if line.startswith("Execution Time")), "")
    if total and float(total.split(":")[1].split()[0]) >= 20:
        print("    " + sql[:300])
        print("\n".join("      " + line for line in lines))


def _setup() -> dict:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from apps.customers.models import Customer
    from apps.org.models import Department, User
    from apps.org.services import role_scope_set
    from apps.sales.models import Opportunity
    from apps.studio.models import FieldDefinition

    dept, _c = Department.objects.get_or_create(name=f"{PREFIX}-sales", parent=None)
    admin, _c = User.objects.get_or_create(
        username=f"{PREFIX}-admin", defaults={"is_superuser": True}
    )
    director, _c = User.objects.get_or_create(
        username=f"{PREFIX}-director", defaults={"department": dept}
    )
    role, _c = Group.objects.get_or_create(name=f"{PREFIX}-directors")
    for model in (Opportunity, Customer):
        ct = ContentType.objects.get_for_model(model)
        from django.contrib.auth.models import Permission

        role.permissions.add(
            Permission.objects.get(content_type=ct, codename=f"view_{model._meta.model_name}")
        )
        role_scope_set(role=role, model=model, scope="tree")
    director.groups.add(role)
    reps = []
    for i in range(20):
        rep, _c = User.objects.get_or_create(
            username=f"{PREFIX}-rep{i}", defaults={"department": dept if i < 4 else None}
        )
        reps.append(rep)
    FieldDefinition.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Customer),
        key="bench_tier",
        defaults={
            "label": "Bench tier",
            "type": "choice",
            "choices": [{"value": v, "label": v} for v in ("gold", "silver", "bronze")],
        },
    )
    return {"admin": admin, "director": director, "reps": reps, "dept": dept}


def _generate(users) -> bool:
    from apps.sales.models import Pipeline, Stage

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer WHERE name LIKE %s", [f"{PREFIX}%"])
        found = cursor.fetchone()[0]
        if found >= N:
            return False
    if found:  # a smaller run's rows: start again at this scale
        _cleanup()
    pipeline, _c = Pipeline.objects.get_or_create(name=f"{PREFIX} pipeline")
    stages = []
    for order, (name, prob, won, lost) in enumerate(
        [
            ("s1", 10, False, False),
            ("s2", 30, False, False),
            ("s3", 60, False, False),
            ("won", 100, True, False),
            ("lost", 0, False, True),
        ]
    ):
        stage, _c = Stage.objects.get_or_create(
            pipeline=pipeline,
            name=name,
            defaults={"order": order, "probability": prob, "is_won": won, "is_lost": lost},
        )
        stages.append(stage.pk)
    rep_ids = [u.pk for u in users["reps"]]
    dept_id = users["dept"].pk
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_customer (name, name_normalized, name_pinyin, name_initials,
              industry, source, level, status, province, city, region, address, phone,
              phone_digits, email, website, description, owner_id, department_id, created_at,
              updated_at, custom, satisfaction_count, pool_reason, last_satisfaction_comment)
            SELECT %s || g, %s || g, '', '',
              (ARRAY['it','finance','retail','energy','other'])[1 + g %% 5],
              (ARRAY['website','referral','exhibition','cold_call'])[1 + g %% 4],
              (ARRAY['A','B','C','D'])[1 + g %% 4], 'following',
              (ARRAY['上海','江苏','浙江','北京','广东','四川'])[1 + g %% 6], '', '', '', '', '',
              '', '', '', (%s::bigint[])[1 + g %% 20],
              CASE WHEN g %% 20 < 4 THEN %s ELSE NULL END,
              now() - (g %% 700) * interval '1 day', now(),
              jsonb_build_object('bench_tier', (ARRAY['gold','silver','bronze'])[1 + g %% 3]),
              0, '', ''
            FROM generate_series(1, %s) g
            """,
            [PREFIX, PREFIX, rep_ids, dept_id, N],
        )
        cursor.execute(
            """
            INSERT INTO sales_opportunity (name, customer_id, amount, pipeline_id, stage_id,
              probability, status, lost_reason, description, owner_id, department_id,
              created_at, updated_at, stage_changed_at, last_activity_at, custom,
              lost_from_stage_id)
            SELECT 'opp' || c.id, c.id, (c.id %% 1000) * 1000, %s,
              (%s::bigint[])[1 + c.id %% 5], 10,
              CASE WHEN c.id %% 5 = 3 THEN 'won' WHEN c.id %% 5 = 4 THEN 'lost' ELSE 'open' END,
              '', '', c.owner_id, c.department_id, now() - (c.id %% 300) * interval '1 day',
              now(), now(), now(), '{}'::jsonb,
              CASE WHEN c.id %% 5 = 4 THEN (%s::bigint[])[1 + c.id %% 3] END
            FROM customers_customer c WHERE c.name LIKE %s
            """,
            [pipeline.pk, stages, stages[:3], f"{PREFIX}%"],
        )
        # Every lost deal was lost from one of the open stages: its stage history and, as
        # `opportunity_move` writes it, `lost_from_stage` (which the funnel reads).
        cursor.execute(
            """
            INSERT INTO sales_stagechange (opportunity_id, from_stage_id, to_stage_id, at, reason)
            SELECT o.id, o.lost_from_stage_id, %s, o.created_at + interval '1 day', ''
            FROM sales_opportunity o
            WHERE o.pipeline_id = %s AND o.stage_id = %s
            """,
            [stages[4], pipeline.pk, stages[4]],
        )
        cursor.execute("ANALYZE customers_customer, sales_opportunity, sales_stagechange")
    return True


def _cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM sales_stagechange WHERE opportunity_id IN (SELECT o.id FROM "
            "sales_opportunity o JOIN customers_customer c ON c.id = o.customer_id "
            "WHERE c.name LIKE %s)",
            [f"{PREFIX}%"],
        )
        cursor.execute(
            "DELETE FROM sales_opportunity WHERE customer_id IN "
            "(SELECT id FROM customers_customer WHERE name LIKE %s)",
            [f"{PREFIX}%"],
        )
        cursor.execute("DELETE FROM customers_customer WHERE name LIKE %s", [f"{PREFIX}%"])
