"""To-do inbox provider: approval tasks waiting for the user (see `ApprovalsConfig.ready`).

One query per call (`window_page`: the oldest waiting tasks and the total in one statement).
`object_id` is the approval *task* id — what `approval-tasks/{id}/approve/` takes; the item's
url opens the request, where the decision is made.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.org.todos import TodoItem, TodoProvider, register_provider, window_page

KIND = "approval"


def approvals_waiting(user, limit: int):
    from .selectors import pending_tasks_for

    def item(task) -> TodoItem:
        req = task.process.approval_request
        return TodoItem(
            kind=KIND,
            title=req.title,
            url=reverse("approvals:detail", args=[req.pk]),
            due_at=None,
            object_id=task.pk,
            subtitle=f"{req.initiator} · {req.template.name}",
        )

    return window_page(pending_tasks_for(user), limit, item)


def register() -> None:
    register_provider(
        TodoProvider(
            kind=KIND,
            label=_("Approvals"),
            icon="check2-square",
            fetch=approvals_waiting,
            order=10,
        )
    )
