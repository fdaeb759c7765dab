"""A partial index for the approvers' inbox on viewflow's task table.

`pending_tasks_for(user)` filters owner + status ASSIGNED + the approve node and orders by
created: with this index it is a short index range scan (and the COUNT an index-only scan)
whatever the table's size or statistics. viewflow's own single-column indexes leave the planner
scanning every task in creation order. The table belongs to viewflow, so the index is created
here with plain SQL (PostgreSQL and SQLite both support partial indexes).
"""

from django.db import migrations

NAME = "approvals_inbox_idx"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {NAME} ON viewflow_task (owner_id, created, id) "
    "WHERE status = 'ASSIGNED' AND flow_task = 'approvals/flows.ApprovalFlow.approve'"
)
DROP = f"DROP INDEX IF EXISTS {NAME}"


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_reminder_schedule"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP, elidable=False)]
