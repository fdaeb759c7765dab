"""Restore drill on the production stack's database: backup, wipe, restore, verify.

    .venv/bin/python bench/restore_drill.py          # `make restore-drill`

1. The stack is stopped (no writes between the fingerprint and the dump), then the database
   is fingerprinted: the row count of every table, and for the key tables an md5 over all
   their rows in primary-key order (`md5(string_agg(t::text, '|' ORDER BY pk))`).
2. `deploy/backup.sh` writes the dump, the uploaded files and SHA256SUMS (as cron would).
3. Wipe: the database is dropped and the upload folders are emptied.
4. Restore as docs/deployment.md says: `sha256sum -c`, `createdb`, `pg_restore --no-owner`,
   untar the files, `manage.py migrate` (a no-op).
5. The fingerprint is taken again and compared; the files are compared by name and size.
6. The stack is started again and the acceptance journey runs on the restored database.

Prints the figures and writes them to bench/results/restore-<stamp>.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import journey, stack  # noqa: E402

KEY_TABLES = [
    "org_user",
    "customers_customer",
    "customers_contact",
    "customers_followup",
    "sales_lead",
    "sales_opportunity",
    "sales_contract",
    "sales_paymentplan",
    "sales_payment",
    "sales_invoice",
    "approvals_approvalrequest",
    "tasks_task",
    "docs_document",
    "studio_automationrule",
]


def fingerprint() -> dict:
    import psycopg

    with psycopg.connect(stack.database_url()) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in tables
        }
        sums = {}
        for t in KEY_TABLES:
            sums[t] = conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "  # noqa: S608
                f'FROM "{t}" t'
            ).fetchone()[0]
    return {"counts": counts, "checksums": sums}


def files_list() -> dict:
    out = {}
    for sub in ("media", "private_media"):
        root = stack.STACK_DIR / "files" / sub
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(stack.STACK_DIR))] = p.stat().st_size
    return out


def sh(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kwargs)  # noqa: S603


def main() -> int:
    env = {**os.environ, **stack.stack_env()}
    result: dict = {"database": stack.DB_NAME}
    stack.stop()  # no-op when nothing runs
    before = fingerprint()
    files_before = files_list()
    result["tables"] = len(before["counts"])
    result["rows"] = sum(before["counts"].values())
    result["key_table_rows"] = {t: before["counts"][t] for t in KEY_TABLES}
    result["files"] = len(files_before)

    backups = Path(tempfile.mkdtemp(prefix="weft-backup-"))
    t0 = time.monotonic()
    sh(["sh", str(stack.ROOT / "deploy" / "backup.sh"), str(backups)], env=env)
    result["backup_s"] = round(time.monotonic() - t0, 1)
    (folder,) = [p for p in backups.iterdir() if p.is_dir()]
    result["dump_bytes"] = (folder / "weft.dump").stat().st_size
    result["media_tar_bytes"] = (folder / "media.tar.gz").stat().st_size

    # Wipe.
    import psycopg

    with psycopg.connect(stack.database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{stack.DB_NAME}" WITH (FORCE)')
    for sub in ("media", "private_media"):
        shutil.rmtree(stack.STACK_DIR / "files" / sub)
        (stack.STACK_DIR / "files" / sub).mkdir()

    # Restore, the steps of docs/deployment.md.
    t0 = time.monotonic()
    sh(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, stdout=subprocess.DEVNULL)
    stack.ensure_database()
    sh(["pg_restore", "--no-owner", "--dbname", stack.database_url(), str(folder / "weft.dump")])
    sh(["tar", "-xzf", str(folder / "media.tar.gz"), "-C", "/"])
    stack.manage("migrate", "--no-input")
    result["restore_s"] = round(time.monotonic() - t0, 1)

    after = fingerprint()
    files_after = files_list()
    result["counts_equal"] = after["counts"] == before["counts"]
    result["checksums_equal"] = after["checksums"] == before["checksums"]
    result["files_equal"] = files_after == files_before
    result["checksums"] = after["checksums"]
    if not result["counts_equal"]:
        result["count_diff"] = {
            t: (before["counts"].get(t), after["counts"].get(t))
            for t in set(before["counts"]) | set(after["counts"])
            if before["counts"].get(t) != after["counts"].get(t)
        }
    shutil.rmtree(backups)

    stack.start(prepare_db=False)
    result["journey_after_restore_s"] = journey.run(stack.BASE_URL, log=lambda *_: None)["timings"][
        "total"
    ]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = stack.ROOT / "bench" / "results" / f"restore-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = result["counts_equal"] and result["checksums_equal"] and result["files_equal"]
    print("RESULT:", "restored: counts, checksums and files equal" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
