"""Two-character Chinese search terms served by an index (PostgreSQL).

pg_trgm needs three characters, so 合同, 报价, 审批 scanned every title and body. This adds, on
PostgreSQL only, a generated `search_bigrams text[]` column on documents (every pair of
adjacent CJK characters of title + body) and one on document versions (of the file name),
each with a GIN index; `DocumentQuerySet.search` asks `search_bigrams @> ARRAY[<the term's
bigrams>]` and re-checks the exact substring on the few rows the index returns. The columns
are computed by the database on every INSERT/UPDATE (also for COPY and raw SQL), so there is
nothing to keep in step in Python. Django's model state does not know them (SQLite has no
arrays and searches by scanning, fine at its sizes).
"""

from django.db import migrations

# U+3400–U+4DBF (extension A), U+4E00–U+9FFF (unified), U+F900–U+FAFF (compatibility).
FUNCTION = r"""
CREATE OR REPLACE FUNCTION weft_cjk_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(run, i, 2)), '{}')
    FROM regexp_matches(t, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}', 'g') AS m(r),
         LATERAL (SELECT r[1] AS run) AS x,
         LATERAL generate_series(1, char_length(run) - 1) AS i
$$
"""
COLUMNS = [
    (
        "docs_document",
        "weft_cjk_bigrams(coalesce(title, '') || ' ' || coalesce(body, ''))",
        "docs_document_bigrams",
    ),
    ("docs_documentversion", "weft_cjk_bigrams(coalesce(original_name, ''))", "docs_version_bigrams"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table, expression, index in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "search_bigrams" text[] '
            f"GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" USING gin ("search_bigrams")'
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _expression, index in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index}"')
        schema_editor.execute(f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS "search_bigrams"')
    schema_editor.execute("DROP FUNCTION IF EXISTS weft_cjk_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("docs", "0002_search_and_schedule")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
