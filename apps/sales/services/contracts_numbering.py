"""Contract numbers: "HT-<year>-<6 digits>" (HT-2026-000001), one sequence per calendar year,
the format of every sales document number (`apps.sales.numbering`).

Safe under concurrency: on PostgreSQL the number is taken under a transaction-scoped advisory
lock per year, so two contracts created at once queue for the next number instead of both
reading the same maximum; SQLite serialises writers anyway. The unique constraint on
`Contract.number` stays the last guard (`contract_create` retries once on a clash), and quotes
accepted into contracts (`quote_to_contract`) draw from the same sequence.
"""

from __future__ import annotations

import datetime as dt
import zlib

from django.db import connection
from django.utils import timezone

from apps.sales.numbering import next_number

PREFIX = "HT"


def _lock_year(prefix: str) -> None:
    if connection.vendor == "postgresql":
        key = zlib.crc32(prefix.encode()) & 0x7FFFFFFF
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def next_contract_number(on: dt.date | None = None) -> str:
    """The next free number of the year of `on` (today). Call inside the creating transaction."""
    from apps.sales.models import Contract

    year = (on or timezone.localdate()).year
    _lock_year(f"{PREFIX}-{year}-")
    return next_number(Contract, PREFIX, year=year)
