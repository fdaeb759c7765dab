"""Migration helper: a GIN index on a model's `custom` JSONB column, on PostgreSQL only.

    operations = [gin_index_on_custom("customers_customer")]

SQLite (the embedded mode) has no GIN; the operation does nothing there.
"""

from __future__ import annotations

from django.db import migrations


def gin_index_on_custom(table: str) -> migrations.RunPython:
    name = f"{table}_custom_gin"[:63]

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            q = schema_editor.quote_name
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} "  # noqa: S608
                f"USING gin (custom jsonb_path_ops)"
            )

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return migrations.RunPython(forward, backward, elidable=False)
