"""Beat schedule of the leads escalation job (admin: Periodic tasks), and the sales settings
row."""

from django.db import migrations

TASK = ("sales: escalate leads not contacted in time", "apps.sales.tasks_leads.lead_escalate_stale")


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(name=TASK[0], defaults={"task": TASK[1], "interval": every})
    apps.get_model("sales", "SalesSettings").objects.get_or_create(pk=1)


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
