"""Default pool rules and ticket SLAs (editable in the admin), and the beat schedules of the
customers jobs (admin: Periodic tasks)."""

from django.db import migrations

POOL_RULES = [("A", 90, 7), ("B", 60, 5), ("C", 30, 3), ("D", 15, 2)]
SLA_RULES = [("urgent", 1, 8), ("high", 4, 24), ("normal", 8, 72), ("low", 24, 168)]
INTERVAL_TASKS = [
    ("customers: remind due follow-ups", "apps.customers.tasks.follow_up_remind_due", 15),
    ("customers: flag overdue tickets", "apps.customers.tasks.ticket_flag_overdue", 15),
]
DAILY_TASK = ("customers: recycle idle customers to the pool", "apps.customers.tasks.pool_recycle")


def forward(apps, schema_editor):
    PoolRule = apps.get_model("customers", "PoolRule")
    SLARule = apps.get_model("customers", "SLARule")
    for level, days, warn in POOL_RULES:
        PoolRule.objects.get_or_create(level=level, defaults={"days": days, "warn_days": warn})
    for priority, response, resolve in SLA_RULES:
        SLARule.objects.get_or_create(
            priority=priority, defaults={"response_hours": response, "resolve_hours": resolve}
        )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in INTERVAL_TASKS:
        every, _created = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})
    nightly, _created = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name=DAILY_TASK[0], defaults={"task": DAILY_TASK[1], "crontab": nightly}
    )


def backward(apps, schema_editor):
    names = [t[0] for t in INTERVAL_TASKS] + [DAILY_TASK[0]]
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
