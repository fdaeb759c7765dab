"""Leads area: the beat schedule of the escalation job (admin: Periodic tasks), the sales
settings row, and trigram indexes for substring search on lead companies (PostgreSQL)."""

import logging

from django.db import migrations, transaction

log = logging.getLogger("weft.migrations")

TASK = ("sales: escalate leads not contacted in time", "apps.sales.tasks_leads.lead_escalate_stale")
TRIGRAM_INDEXES = [
    ("sales_lead_company_trgm", "sales_lead", "company_normalized"),
    ("sales_lead_pinyin_trgm", "sales_lead", "company_pinyin"),
]


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(name=TASK[0], defaults={"task": TASK[1], "interval": every})
    apps.get_model("sales", "SalesSettings").objects.get_or_create(pk=1)


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK[0]).delete()


def trigram_forward(apps, schema_editor):
    """`LIKE '%text%'` on lead companies through pg_trgm GIN indexes; nothing on SQLite, and a
    role that may not create the extension still migrates (search is then unindexed)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - any refusal: migrate without the indexes
        log.warning("pg_trgm unavailable, lead substring search will not be indexed: %s", exc)
        return
    q = schema_editor.quote_name
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} "  # noqa: S608 - fixed names
            f"USING gin ({q(column)} gin_trgm_ops)"
        )


def trigram_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunPython(trigram_forward, trigram_backward, elidable=False),
    ]
