"""Automation rules engine (DESIGN §4.3). What other apps use:

    from apps.studio.automation import (
        ActionContext, ActionSpec, ModelSpec, record_changed, register_action, register_model,
    )

- `register_model(ModelSpec(...))` in the owning app's `AppConfig.ready()` opens a model to rules
  (whitelisted fields only).
- `register_action(ActionSpec(key=..., label=..., run=..., clean=...))` adds an action.
- Services call `record_changed(instance, created=..., changes=..., by=...)` inside their
  transaction; rules run after the commit, in Celery.
See docs/automation.md.
"""

from .engine import current_depth, record_changed
from .registry import (
    ActionContext,
    ActionSpec,
    ModelSpec,
    register_action,
    register_model,
    spec_for,
    unregister_action,
    unregister_model,
)
from .templating import check as check_template
from .templating import render as render_template

__all__ = [
    "ActionContext",
    "ActionSpec",
    "ModelSpec",
    "check_template",
    "current_depth",
    "record_changed",
    "register_action",
    "register_model",
    "render_template",
    "spec_for",
    "unregister_action",
    "unregister_model",
]
