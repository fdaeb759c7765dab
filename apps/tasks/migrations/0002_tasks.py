"""Tasks: tasks with subtasks, participants, comments with attachments, history; and the beat
schedule of the reminder job (every 5 minutes; admin: Periodic tasks)."""

import apps.tasks.models.tasks
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

REMINDER_TASK = "apps.tasks.tasks.tasks_remind_due"
REMINDER_NAME = "tasks: reminders, due soon and overdue"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REMINDER_NAME, defaults={"task": REMINDER_TASK, "interval": every}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=REMINDER_NAME
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('customers', '0002_defaults_and_schedules'),
        ('org', '0001_initial'),
        ('tasks', '0001_initial'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Task',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200, verbose_name='title')),
                ('description', models.TextField(blank=True, verbose_name='description')),
                ('status', models.CharField(choices=[('todo', 'To do'), ('doing', 'In progress'), ('done', 'Done'), ('cancelled', 'Cancelled')], default='todo', max_length=10, verbose_name='status')),
                ('priority', models.CharField(choices=[('low', 'Low'), ('normal', 'Normal'), ('high', 'High'), ('urgent', 'Urgent')], default='normal', max_length=10, verbose_name='priority')),
                ('depth', models.PositiveSmallIntegerField(default=0, editable=False, verbose_name='depth')),
                ('progress', models.PositiveSmallIntegerField(default=0, editable=False, help_text='Per cent done: 100 when done; with subtasks, their average (cancelled ones left out).', verbose_name='progress')),
                ('due_at', models.DateTimeField(blank=True, null=True, verbose_name='due')),
                ('remind_at', models.DateTimeField(blank=True, null=True, verbose_name='remind at')),
                ('reminded_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='reminder sent')),
                ('due_soon_notified_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='due-soon notice sent')),
                ('overdue_notified_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='overdue notice sent')),
                ('repeat', models.CharField(blank=True, choices=[('', 'Does not repeat'), ('daily', 'Daily'), ('weekly', 'Weekly'), ('monthly', 'Monthly')], default='', max_length=10, verbose_name='repeat')),
                ('repeat_until', models.DateField(blank=True, null=True, verbose_name='repeat until')),
                ('link_id', models.PositiveBigIntegerField(blank=True, null=True, verbose_name='linked record id')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('started_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='started at')),
                ('completed_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='completed at')),
                ('assignee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assigned_tasks', to=settings.AUTH_USER_MODEL, verbose_name='assignee')),
                ('creator', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='created_tasks', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tasks', to='customers.customer', verbose_name='customer')),
                ('department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='org.department', verbose_name='department')),
                ('link_type', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contenttypes.contenttype', verbose_name='linked record type')),
                ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='subtasks', to='tasks.task', verbose_name='parent task')),
                ('recurrence_of', models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='next_occurrence', to='tasks.task', verbose_name='previous occurrence')),
                ('root', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tasks.task', verbose_name='top-level task')),
            ],
            options={
                'verbose_name': 'task',
                'verbose_name_plural': 'tasks',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='TaskComment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField(verbose_name='comment')),
                ('mentions', models.JSONField(blank=True, default=list, verbose_name='mentioned')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='author')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='tasks.task', verbose_name='task')),
            ],
            options={
                'verbose_name': 'comment',
                'verbose_name_plural': 'comments',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='TaskAttachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file', models.FileField(max_length=300, storage=apps.tasks.models.tasks._private_storage, upload_to=apps.tasks.models.tasks.attachment_upload_to, verbose_name='file')),
                ('name', models.CharField(max_length=200, verbose_name='name')),
                ('size', models.PositiveBigIntegerField(default=0, verbose_name='size')),
                ('content_type', models.CharField(max_length=100, verbose_name='content type')),
                ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='uploaded at')),
                ('uploaded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='uploaded by')),
                ('comment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='tasks.taskcomment', verbose_name='comment')),
            ],
            options={
                'verbose_name': 'attachment',
                'verbose_name_plural': 'attachments',
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='TaskEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('created', 'Created'), ('updated', 'Updated'), ('assigned', 'Assigned'), ('status', 'Status changed'), ('commented', 'Commented'), ('subtask_added', 'Subtask added'), ('participants', 'Participants changed'), ('moved', 'Moved'), ('reminded', 'Reminder sent'), ('overdue', 'Overdue'), ('recurred', 'Next occurrence created')], max_length=20, verbose_name='kind')),
                ('payload', models.JSONField(blank=True, default=dict, verbose_name='details')),
                ('at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='at')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='tasks.task', verbose_name='task')),
            ],
            options={
                'verbose_name': 'task event',
                'verbose_name_plural': 'task events',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='TaskParticipant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='added at')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tasks.task', verbose_name='task')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='task_participations', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'participant',
                'verbose_name_plural': 'participants',
            },
        ),
        migrations.AddField(
            model_name='task',
            name='participants',
            field=models.ManyToManyField(blank=True, related_name='participating_tasks', through='tasks.TaskParticipant', to=settings.AUTH_USER_MODEL, verbose_name='participants'),
        ),
        migrations.AddIndex(
            model_name='taskcomment',
            index=models.Index(fields=['task', 'created_at'], name='tasks_comment_task'),
        ),
        migrations.AddIndex(
            model_name='taskevent',
            index=models.Index(fields=['task', '-at'], name='tasks_event_task_at'),
        ),
        migrations.AddIndex(
            model_name='taskparticipant',
            index=models.Index(fields=['user', 'task'], name='tasks_participant_user'),
        ),
        migrations.AddConstraint(
            model_name='taskparticipant',
            constraint=models.UniqueConstraint(fields=('task', 'user'), name='tasks_participant_unique'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['assignee', 'status', 'due_at'], name='tasks_task_assignee'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(condition=models.Q(('status__in', ['todo', 'doing'])), fields=['assignee', 'due_at'], name='tasks_task_open_due'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['creator', '-created_at'], name='tasks_task_creator'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['department', 'status'], name='tasks_task_dept'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['customer', '-created_at'], name='tasks_task_customer'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['status', 'due_at'], name='tasks_task_status_due'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['-created_at', '-id'], name='tasks_task_created'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['link_type', 'link_id'], name='tasks_task_link'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(condition=models.Q(('remind_at__isnull', False), ('reminded_at__isnull', True)), fields=['remind_at'], name='tasks_task_remind'),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(('progress__gte', 0), ('progress__lte', 100)), name='tasks_task_progress_range'),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(('parent__isnull', True), models.Q(('parent', models.F('id')), _negated=True), _connector='OR'), name='tasks_task_not_own_parent'),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('link_id__isnull', True), ('link_type__isnull', True)), models.Q(('link_id__isnull', False), ('link_type__isnull', False)), _connector='OR'), name='tasks_task_link_complete'),
        ),
        migrations.RunPython(schedule, unschedule),
    ]
