"""Customer pages: the HTML list and the 360° page at 10k customers, and Excel import of 100k rows.

1. 10,000 customers owned by one user (role scope "all", so the scope filter is exercised),
   one of them with 8 contacts, 30 follow-ups, 5 tickets and its history. p50/p95 server time of
   GET /customers/ (first page, default sort), GET /customers/?q=<pinyin> and the 360° page
   through django.test.Client, with their query counts. Targets: list p95 ≤ 25 ms, 360° ≤ 60 ms.
   If the data layer's 1M database `weft_bench_customers` exists and is filled, the same pages
   are measured there too (run with DATABASE_URL pointing at it); this script never generates 1M.
2. Import of 100,000 customers, then 100,000 contacts of them (CSV through the import job:
   parsing, per-row checks, commit; preview skipped: the commit checks every row too) in a
   fresh Python process: rows/s and peak RSS (resource.getrusage), against PostgreSQL COPY
   of the same customer rows (keys precomputed). Targets: ≥ 10k rows/s, ≤ 400 MB.
   BENCH_IMPORT_ROWS=0 skips the imports (e.g. for the page figures on the 1M database),
   BENCH_PAGES=0 the pages.

Usage (PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/weft_bench \\
        .venv/bin/python bench/run.py bench_customer_pages
Everything created is deleted at the end.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

N_CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "10000"))
N_IMPORT = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
ROOT = Path(__file__).resolve().parent.parent


def _setup_user(tag: str):
    from django.contrib.auth.models import Group, Permission

    from apps.customers.models import Contact, Customer, FollowUp, Ticket
    from apps.org.models import Department, Scope, User
    from apps.org.services import role_scope_set

    dept = Department.objects.create(name=f"bench-{tag}")
    user = User.objects.create_user(username=f"bench-{tag}", department=dept)
    role = Group.objects.create(name=f"bench-{tag}")
    role.permissions.add(
        *Permission.objects.filter(content_type__app_label="customers").exclude(
            codename__contains="__"
        )
    )
    for model in (Customer, Contact, FollowUp, Ticket):
        role_scope_set(role=role, model=model, scope=Scope.ALL)
    user.groups.add(role)
    return user, role, dept


def _make_customers(tag: str, user, n: int):
    from django.utils import timezone

    from apps.customers.models import Customer

    provinces = ["上海", "江苏", "浙江", "北京", "广东", "四川"]
    now = timezone.now()
    rows = []
    for i in range(n):
        c = Customer(
            name=f"张三{tag}客户{i:06d}科技有限公司",
            owner=user,
            department=user.department,
            level="ABCD"[i % 4],
            province=provinces[i % len(provinces)],
            phone=f"021-{i:08d}",
            created_at=now,
            owned_since=now,
        )
        c.refresh_keys()
        rows.append(c)
    Customer.objects.bulk_create(rows, batch_size=2000)


def _rich_customer(tag: str, user):
    from apps.customers.models import Contact, Customer
    from apps.customers.services.contacts import follow_up_log
    from apps.customers.services.tickets import ticket_create

    c = Customer.objects.filter(name=f"张三{tag}客户{0:06d}科技有限公司").get()
    boss = Contact.objects.create(customer=c, name="王总", is_primary=True, mobile="13800000000")
    for i in range(7):
        Contact.objects.create(customer=c, name=f"联系人{i}", reports_to=boss)
    for i in range(30):
        follow_up_log(customer=c, by=user, data={"content": f"第{i}次电话沟通"})
    for i in range(5):
        ticket_create(customer=c, by=user, data={"title": f"工单{i}"})
    return c


def _pages(user, customer) -> None:
    from django.core.signals import request_finished
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .util import report, timed

    # Persistent connections, as production runs them (CONN_MAX_AGE > 0): without this the
    # test client reconnects to PostgreSQL on every request and the query log is lost.
    request_finished.disconnect(close_old_connections)
    client = Client()
    client.force_login(user)
    for label, url in (
        ("list page /customers/ (25 rows of 10k)", "/customers/"),
        ("list page sorted by name", "/customers/?sort=name"),
        ("list page search ?q=zhangsan (pinyin)", "/customers/?q=zhangsan"),
        ("360° page (8 contacts, 30 follow-ups, 5 tickets)", f"/customers/{customer.pk}/"),
        ("pool page", "/customers/pool/"),
        ("global search /search/?q=zs", "/search/?q=zs"),
    ):
        res = client.get(url)
        assert res.status_code == 200, (url, res.status_code)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        stats = timed(lambda url=url: client.get(url), repeat=200, warmup=20)
        report(f"{label} [{len(ctx.captured_queries)} q]", stats)


def _csv_rows(tag: str, n: int) -> bytes:
    out = io.StringIO()
    out.write("name,level,province,phone,email\n")
    for i in range(n):
        out.write(
            f"导入{tag}公司{i:07d},{'ABCD'[i % 4]},江苏,0512-{i:08d},c{i}@{tag}.example.com\n"
        )
    return out.getvalue().encode()


def _sniffable(data: bytes) -> bytes:
    """The upload check decodes the first 4,096 bytes: pad the header (trailing spaces, which
    the header matching ignores) so that cut falls between two characters."""
    header, rest = data.split(b"\n", 1)
    for k in range(4):
        candidate = header + b" " * k + b"\n" + rest
        try:
            candidate[:4096].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return candidate
    return data


def _contact_rows(tag: str, n: int) -> bytes:
    """One contact per customer imported by `_csv_rows` (the customer column holds its name)."""
    out = io.StringIO()
    out.write("customer,name,title,mobile,email\n")
    for i in range(n):
        out.write(f"导入{tag}公司{i:07d},张{i % 97}号,经理,139{i:08d},p{i}@{tag}.example.com\n")
    return out.getvalue().encode()


def _run_job(user, resource: str, data: bytes, label: str) -> None:
    import resource as rlimits

    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.studio import imports

    job = imports.import_start(
        user=user, resource=resource, upload=SimpleUploadedFile("bench.csv", _sniffable(data))
    )
    t0, c0 = time.perf_counter(), time.process_time()
    imports.import_run(job=job, phase="commit")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    job.refresh_from_db()
    peak = rlimits.getrusage(rlimits.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"import {N_IMPORT} {label} via ImportJob commit: {elapsed:.1f} s = "
        f"{N_IMPORT / elapsed:,.0f} rows/s ({N_IMPORT / cpu:,.0f} rows per CPU second of this "
        f"process); status {job.status}, imported {job.imported_rows}; peak RSS so far "
        f"{peak:.0f} MB; load {os.getloadavg()[0]:.1f}"
    )
    if job.status != "done":
        print("  first errors:", (job.errors or [])[:3], job.message)
    job.file.delete(save=False)
    job.delete()


def import_child(tag: str, user_id: int) -> None:
    """Run in a fresh process: import N_IMPORT customers, then N_IMPORT contacts (one per
    customer), through the import job machinery (file parsing, checks, commit)."""
    import resource as rlimits

    from apps.org.models import User

    user = User.objects.get(pk=user_id)
    rss_before = rlimits.getrusage(rlimits.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS before the imports: {rss_before:.0f} MB; load average {os.getloadavg()}")
    _run_job(
        user, "apps.customers.resources.CustomerResource", _csv_rows(tag, N_IMPORT), "customers"
    )
    _run_job(
        user, "apps.customers.resources.ContactResource", _contact_rows(tag, N_IMPORT), "contacts"
    )


def _copy(tag: str, user) -> None:
    """PostgreSQL COPY of the same rows, keys precomputed (the floor for any import)."""
    from django.db import connection
    from django.utils import timezone

    from apps.customers.models import Customer
    from apps.customers.normalize import digits, normalize_name, pinyin_keys

    if connection.vendor != "postgresql":
        print("COPY comparison skipped (not PostgreSQL)")
        return
    now = timezone.now().isoformat()
    t0 = time.perf_counter()
    buf = io.StringIO()
    for i in range(N_IMPORT):
        name = f"复制{tag}公司{i:07d}"
        key = normalize_name(name)
        full, initials = pinyin_keys(key)
        phone = f"0512-{i:08d}"
        buf.write(
            "\t".join(
                [
                    name,
                    key,
                    full,
                    initials,
                    "ABCD"[i % 4],
                    "potential",
                    "江苏",
                    phone,
                    digits(phone),
                    f"c{i}@{tag}.example.com",
                    str(user.pk),
                    str(user.department_id),
                    now,
                    now,
                    "{}",
                    *[""] * 9,
                    "0",
                ]
            )
            + "\n"
        )
    prep = time.perf_counter() - t0
    cols = (
        "name, name_normalized, name_pinyin, name_initials, level, status, province, phone, "
        "phone_digits, email, owner_id, department_id, created_at, updated_at, custom, "
        "industry, source, city, region, address, website, description, pool_reason, "
        "last_satisfaction_comment, satisfaction_count"
    )
    table = Customer._meta.db_table
    t1 = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
    elapsed = time.perf_counter() - t1
    print(
        f"COPY of the same {N_IMPORT} rows: {elapsed:.1f} s = {N_IMPORT / elapsed:,.0f} rows/s "
        f"(+ {prep:.1f} s computing the keys in Python)"
    )


def main() -> None:
    import django
    from django.core.management import call_command
    from django.db import connection

    from apps.customers.models import Contact, Customer, CustomerEvent, FollowUp, Ticket
    from apps.studio.models import ListPreference

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:6]
    user, role, dept = _setup_user(tag)
    try:
        t0 = time.perf_counter()
        _make_customers(tag, user, N_CUSTOMERS)
        customer = _rich_customer(tag, user)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Earlier runs deleted their rows; autovacuum may not have caught up.
                cursor.execute("VACUUM ANALYZE")
        print(f"setup: {N_CUSTOMERS} customers in {time.perf_counter() - t0:.1f} s")
        total = Customer.objects.count()
        print(f"customers in the database: {total:,}; load average {os.getloadavg()}")
        if os.environ.get("BENCH_PAGES", "1") != "0":
            _pages(user, customer)
        if N_IMPORT <= 0:
            return
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
        subprocess.run(  # noqa: S603 - this very script, with arguments made here
            [sys.executable, str(Path(__file__)), "--import-child", tag, str(user.pk)],
            check=True,
            env=env,
            cwd=ROOT,
        )
        try:
            _copy(tag, user)
        except Exception as exc:  # noqa: BLE001 - report, keep cleaning up
            print("COPY failed:", exc)
    finally:
        mine = Customer.objects.filter(owner=user)
        Ticket.objects.filter(customer__in=mine).delete()
        from apps.studio.models import ImportJob

        ImportJob.objects.filter(user=user).delete()
        for model in (FollowUp, Contact, CustomerEvent):
            model.objects.filter(customer__in=mine).delete()
        mine.delete()
        ListPreference.objects.filter(user=user).delete()
        user.delete()
        role.delete()
        dept.delete()
    del django


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--import-child":
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ.setdefault("DEBUG", "1")
        import django

        django.setup()
        import_child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.path.insert(0, str(ROOT))
        from bench.run import main as run_main

        run_main(["bench_customer_pages"])
