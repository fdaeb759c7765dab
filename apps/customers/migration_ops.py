"""Migration helpers of the customers app: trigram indexes for substring search (PostgreSQL)."""

from __future__ import annotations

import logging

from django.db import migrations, transaction

log = logging.getLogger("weft.migrations")

# (index name, table, column): `LIKE '%text%'` on these columns uses a pg_trgm GIN index.
TRIGRAM_INDEXES = [
    ("customers_cust_name_trgm", "customers_customer", "name_normalized"),
    ("customers_cust_pinyin_trgm", "customers_customer", "name_pinyin"),
]


def trigram_indexes() -> migrations.RunPython:
    """Create pg_trgm and the GIN trigram indexes; nothing on SQLite.

    A database role that may not create the extension (PostgreSQL < 13, or a restricted
    role) still migrates: search then works without these indexes, only slower.
    """

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - any refusal: migrate without the indexes
            log.warning("pg_trgm unavailable, substring search will not be indexed: %s", exc)
            return
        q = schema_editor.quote_name
        for name, table, column in TRIGRAM_INDEXES:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} "  # noqa: S608
                f"USING gin ({q(column)} gin_trgm_ops)"
            )

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _table, _column in TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return migrations.RunPython(forward, backward, elidable=False)
