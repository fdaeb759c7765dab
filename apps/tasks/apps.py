from django.apps import AppConfig
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "apps.tasks"
    label = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from apps.org.navigation import MenuItem, register, register_home_panel

        from . import inbox, panels, todos

        register(
            MenuItem(
                group="main",
                key="todos",
                label=_("To-do inbox"),
                url_name="tasks:todos",
                icon="inbox-fill",
                order=5,
                badge=inbox.total,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="tasks",
                label=_("Tasks"),
                url_name="tasks:list",
                icon="list-check",
                order=20,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="tasks-board",
                label=_("Task board"),
                url_name="tasks:board",
                icon="kanban",
                order=21,
            )
        )
        register_home_panel("todos", home_panel)
        todos.register()
        panels.register()

        from . import calendar_registry

        calendar_registry.register()

        from . import automation

        automation.register()


def home_panel(request):
    """Home card: the to-do inbox in short — each kind with its count (one query per kind)."""
    from . import inbox

    rows = [(p, n) for p, n in inbox.counts(request.user) if n]
    if not rows:
        return None
    return {
        "title": _("To-do inbox"),
        "template": "tasks/_home_panel.html",
        "context": {"rows": rows, "total": sum(n for _p, n in rows)},
        "order": 5,
        "icon": "inbox-fill",
        "url": reverse("tasks:todos"),
    }
