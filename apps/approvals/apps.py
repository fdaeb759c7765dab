from django.apps import AppConfig
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from apps.org.navigation import MenuItem, register, register_home_panel

        from . import selectors

        register(
            MenuItem(
                group="oa",
                key="approvals-inbox",
                label=_("Approvals to do"),
                url_name="approvals:inbox",
                icon="inbox",
                order=10,
                badge=selectors.pending_count,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="approvals-mine",
                label=_("My requests"),
                url_name="approvals:mine",
                icon="file-earmark-check",
                order=11,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="approvals-new",
                label=_("New request"),
                url_name="approvals:new",
                icon="plus-square",
                order=12,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="approvals-cc",
                label=_("Copied to me"),
                url_name="approvals:cc",
                icon="eye",
                order=13,
            )
        )
        register_home_panel("approvals", home_panel)

        # Automation (issue 7): requests open to rules, the "start approval" action.
        from . import automation

        automation.register()

        from . import todos

        todos.register()  # the to-do inbox (apps.tasks) lists waiting approval tasks


def home_panel(request):
    """Home card: how many approvals wait for me, and the oldest few (2 queries)."""
    from .selectors import pending_count, pending_tasks_for, step_name, task_request

    user = request.user
    count = pending_count(user)
    if not count:
        return None
    tasks = list(pending_tasks_for(user)[:5])
    rows = [{"task": t, "request": task_request(t), "step": step_name(t)} for t in tasks]
    return {
        "title": _("Approvals to do"),
        "template": "approvals/_home_panel.html",
        "context": {"count": count, "rows": rows},
        "order": 10,
        "icon": "inbox",
        "url": reverse("approvals:inbox"),
    }
