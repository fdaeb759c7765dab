"""Search indexes on PostgreSQL (pg_trgm) and the beat entry for scheduled announcements.

`Document.objects.search()` uses `icontains`, which Django writes as
`UPPER(col::text) LIKE UPPER('%term%')` on PostgreSQL; GIN trigram indexes on exactly those
expressions serve it. Trigrams work on Chinese text (CJK characters are word characters in a
UTF-8 database), where the default full-text parser does not split words. SQLite does nothing.
"""

from django.db import migrations

INDEXES = [
    ("docs_document_title_trgm", "docs_document", "title"),
    ("docs_document_body_trgm", "docs_document", "body"),
    ("docs_version_name_trgm", "docs_documentversion", "original_name"),
]
TASK = "apps.docs.tasks.announcements_notify_due"
NAME = "docs: notify audiences of scheduled announcements"


def search_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def search_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def schedule_forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "interval": every})


def schedule_backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("docs", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(search_forward, search_backward, elidable=False),
        migrations.RunPython(schedule_forward, schedule_backward),
    ]
