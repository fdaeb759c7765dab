"""Contract numbers: "HT-<year>-<seq>" (HT-2026-0001), one sequence per calendar year.

Safe under concurrency: on PostgreSQL the number is taken under a transaction-scoped advisory
lock per year, so two contracts created at once queue for the next number instead of both
reading the same maximum; SQLite serialises writers anyway. The unique constraint on
`Contract.number` stays the last guard (`contract_create` retries once on a clash).

The deals area writes `apps/sales/numbering.py` for quotes and contracts at the same time;
this generator uses the same format so the lead can keep either one.
"""

from __future__ import annotations

import datetime as dt
import zlib

from django.db import connection
from django.db.models.functions import Length
from django.utils import timezone

PREFIX = "HT"
WIDTH = 4


def _lock_year(prefix: str) -> None:
    if connection.vendor == "postgresql":
        key = zlib.crc32(prefix.encode()) & 0x7FFFFFFF
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def next_contract_number(on: dt.date | None = None) -> str:
    """The next free number of the year of `on` (today). Call inside the creating transaction."""
    from apps.sales.models import Contract

    year = (on or timezone.localdate()).year
    prefix = f"{PREFIX}-{year}-"
    _lock_year(prefix)
    # Longest first, then the highest text: "HT-2026-10000" sorts after "HT-2026-9999".
    last = (
        Contract.objects.filter(number__startswith=prefix)
        .annotate(_len=Length("number"))
        .order_by("-_len", "-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = 0
    if last:
        tail = last[len(prefix) :]
        seq = int(tail) if tail.isdigit() else 0
    return f"{prefix}{seq + 1:0{WIDTH}d}"
