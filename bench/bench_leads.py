"""Leads (issue 5): lead list p95 at 1M leads, assignment throughput, 100k-row import vs COPY.
PostgreSQL only.

1. Generation (skipped when the rows exist): BENCH_SCALE × 1M leads written with COPY, keys
   (normalised company, pinyin, initials, duplicate key) computed here per name component.
   One rep owns 10,000 leads; the rest spread over 100 owners. ANALYZE follows.
2. Lead list: GET /api/v1/leads/ (first page of 20) as the rep (own scope, 10k visible) and as
   a boss (all, 1M visible), plus `?search=` by company substring, pinyin initials and mobile.
3. Assignment throughput: leads created one by one through `lead_create` (cleaning + rules:
   a territory rule, then round-robin over 10 users under the row lock) and in batches of 1,000
   through `lead_bulk_import` (in-memory router).
4. Import: BENCH_SCALE × 100k rows through `LeadResource.import_data` (the Excel import's
   commit: validation, cleaning, routing, history) against the same rows written with COPY.
   Both are rolled back / deleted afterwards.

Scale: BENCH_SCALE (default 1); e.g. BENCH_SCALE=0.01 for a quick check. BENCH_CLEAN=1 deletes
the generated leads at the end.
"""

from __future__ import annotations

import os
import random
import time
from functools import cache

import tablib
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from apps.customers.normalize import pinyin_keys
from apps.org.models import Department, User
from apps.org.services import role_scope_set
from apps.sales.models import AssignmentRule, Lead
from bench.util import report, timed

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N_LEADS = int(1_000_000 * SCALE)
N_IMPORT = max(1000, int(100_000 * SCALE))
N_OWNERS = 100
PREFIX = "benchleads"
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "南京", "成都", "武汉", "苏州", "天津"]
WORDS = ["星河", "远景", "蓝海", "聚力", "明德", "华域", "云帆", "博瑞", "晨光", "智源"]
TRADES = ["机械", "电子", "软件", "物流", "医疗", "材料", "环保", "食品", "建材", "化工"]
PROVINCES = ["上海", "北京", "广东", "广东", "浙江", "江苏", "四川", "湖北", "江苏", "天津"]


@cache
def _py(part: str) -> tuple[str, str]:
    return pinyin_keys(part)


def company(i: int) -> tuple[str, str, str, str]:
    city, word, trade = CITIES[i % 10], WORDS[(i // 10) % 10], TRADES[(i // 100) % 10]
    core = f"{city}{word}{i}{trade}"
    parts = [_py(city), _py(word), (str(i), str(i)), _py(trade)]
    return (
        f"{core}有限公司",
        core,
        "".join(p[0] for p in parts),
        "".join(p[1] for p in parts),
    )


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_leads needs PostgreSQL (DATABASE_URL=postgres://...); skipped.")
        return
    users = _users()
    t0 = time.perf_counter()
    made = _generate(users)
    if made:
        print(f"generated {made:,} leads in {time.perf_counter() - t0:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sales_lead")
    print(f"leads in the database: {Lead.objects.count():,} (scale {SCALE})")
    try:
        _measure_list(users)
        _measure_assignment(users)
        _measure_import(users)
    finally:
        if os.environ.get("BENCH_CLEAN"):
            Lead.objects.filter(owner__username__startswith=PREFIX).delete()


def _role(name: str, scope: str) -> Group:
    from apps.org.demo import grant_perms

    role, _created = Group.objects.get_or_create(name=f"{PREFIX}-{name}")
    grant_perms(role, ["sales.view_lead", "sales.add_lead", "sales.import_lead"])
    role_scope_set(role=role, model=Lead, scope=scope)
    return role


def _users() -> dict:
    dept, _created = Department.objects.get_or_create(name=f"{PREFIX}-sales", parent=None)
    reps, boss = _role("reps", "own"), _role("all", "all")

    def user(name, role):
        u, _created = User.objects.get_or_create(
            username=f"{PREFIX}-{name}", defaults={"department": dept, "display_name": name}
        )
        u.groups.add(role)
        return u

    owners = [user(f"owner{k}", reps) for k in range(N_OWNERS)]
    return {"rep": owners[0], "owners": owners, "boss": user("boss", boss)}


def _columns() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sales_lead' "
            "ORDER BY ordinal_position"
        )
        return [r[0] for r in cursor.fetchall() if r[0] != "id"]


def _rows(start: int, count: int, owners: list, *, marker: str = "") -> list[dict]:
    now = timezone.now()
    rows = []
    for i in range(start, start + count):
        name, key, full, initials = company(i)
        owner = owners[0] if i % 100 == 0 else owners[1 + i % (len(owners) - 1)]
        mobile = f"13{i:09d}"
        rows.append(
            {
                "company": marker + name,
                "company_normalized": marker + key,
                "company_pinyin": full,
                "company_initials": initials,
                "contact_name": "王伟",
                "title": "",
                "mobile": mobile,
                "mobile_digits": mobile,
                "phone": "",
                "email": f"lead{i}@example.com",
                "wechat": "",
                "source": "import",
                "channel": "",
                "province": PROVINCES[i % 10],
                "city": "",
                "industry": "",
                "description": "",
                "status": "assigned",
                "disqualified_reason": "",
                "owner_id": owner.pk,
                "department_id": owner.department_id,
                "dedupe_key": f"c:{marker}{key}",
                "custom": "{}",
                "created_at": now,
                "updated_at": now,
                "assigned_at": now,
            }
        )
    return rows


def _copy(rows: list[dict], columns: list[str]) -> None:
    raw = connection.connection
    with raw.cursor() as cursor:
        sql = f"COPY sales_lead ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - fixed names
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row.get(c) for c in columns])


def _generate(users) -> int:
    have = Lead.objects.filter(owner__username__startswith=PREFIX).count()
    if have >= N_LEADS:
        return 0
    columns = [c for c in _columns() if c in _rows(0, 1, users["owners"])[0]]
    batch = 50_000
    for start in range(have, N_LEADS, batch):
        with transaction.atomic():
            _copy(_rows(start, min(batch, N_LEADS - start), users["owners"]), columns)
    return N_LEADS - have


def _measure_list(users) -> None:
    for who in ("rep", "boss"):
        client = Client()
        client.force_login(users[who])

        def get(params=None, client=client):
            res = client.get("/api/v1/leads/", params or {})
            assert res.status_code == 200, res.status_code

        report(f"GET /api/v1/leads/ as {who}", timed(get, repeat=100, warmup=5))
        for label, text in (("company", "星河12"), ("initials", "shxh"), ("mobile", "1300001")):
            report(
                f"  ?search= {label} as {who}",
                timed(lambda text=text, get=get: get({"search": text}), repeat=50, warmup=3),
            )


def _measure_assignment(users) -> None:
    from apps.sales.services.leads import lead_create
    from apps.sales.services.leads_import import lead_bulk_import

    territory_rule = AssignmentRule.objects.create(
        name=f"{PREFIX}-territory", order=1, strategy="territory_owner"
    )
    rr = AssignmentRule.objects.create(name=f"{PREFIX}-rr", order=2, strategy="round_robin")
    rr.users.set(users["owners"][:10])
    base = 10**8 + random.randrange(10**6) * 100  # noqa: S311 - unique-enough bench keys
    try:
        n = 1000
        t0 = time.perf_counter()
        for i in range(n):
            with transaction.atomic():
                lead_create(
                    by=None,
                    data={"company": f"分配{base + i}公司", "mobile": f"15{base + i:09d}"[:11]},
                    notify_owner=False,
                )
        elapsed = time.perf_counter() - t0
        print(f"lead_create one by one (cleaning + rules): {n / elapsed:,.0f} leads/s")
        leads = [
            Lead(company=f"批量{base + i}公司", mobile=f"16{base + i:09d}"[:11], province="广东")
            for i in range(10_000)
        ]
        t0 = time.perf_counter()
        for start in range(0, len(leads), 1000):
            with transaction.atomic():
                lead_bulk_import(by=None, leads=leads[start : start + 1000], notify_owners=False)
        elapsed = time.perf_counter() - t0
        print(f"lead_bulk_import, batches of 1,000: {len(leads) / elapsed:,.0f} leads/s")
    finally:
        Lead.objects.filter(assignment_rule__in=[territory_rule, rr]).delete()
        Lead.objects.filter(company__startswith="分配").delete()
        Lead.objects.filter(company__startswith="批量").delete()
        territory_rule.delete()
        rr.delete()


def _measure_import(users) -> None:
    from apps.sales.resources_leads import LeadResource

    rows = _rows(N_LEADS + 1, N_IMPORT, users["owners"], marker="导入")
    dataset = tablib.Dataset(headers=["company", "contact_name", "mobile", "email", "province"])
    for r in rows:
        dataset.append([r["company"], r["contact_name"], r["mobile"], r["email"], r["province"]])
    resource = LeadResource(user=None)
    t0 = time.perf_counter()
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=False, use_transactions=True)
        if result.has_errors() or result.has_validation_errors():
            for row in result.invalid_rows[:5]:
                print("invalid row", row.number, row.error_dict)
            for line, errors in list(result.row_errors())[:5]:
                print("row error", line, [str(e.error) for e in errors])
            raise SystemExit("the import reported errors: figures not valid")
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    print(f"import {N_IMPORT:,} rows (LeadResource, commit): {N_IMPORT / elapsed:,.0f} rows/s")
    columns = [c for c in _columns() if c in rows[0]]
    t0 = time.perf_counter()
    with transaction.atomic():
        _copy(rows, columns)
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    print(f"COPY {N_IMPORT:,} rows (floor, no checks): {N_IMPORT / elapsed:,.0f} rows/s")
