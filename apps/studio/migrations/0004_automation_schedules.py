"""Beat schedules of the automation runner (admin: Periodic tasks)."""

from django.db import migrations

DAILY = ("studio: daily automation rules", "apps.studio.tasks.automation_daily")
SWEEP = ("studio: re-queue lost automation work", "apps.studio.tasks.automation_sweep")


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    morning, _created = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="7",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(name=DAILY[0], defaults={"task": DAILY[1], "crontab": morning})
    every, _created = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=SWEEP[0], defaults={"task": SWEEP[1], "interval": every})


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[DAILY[0], SWEEP[0]]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0003_automation_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
