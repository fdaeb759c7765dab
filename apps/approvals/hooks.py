"""Hook points other apps use; approvals imports none of them (DESIGN §1, §4.5).

Outcome of a request about a subject (a contract, a quote, …):

    from apps.approvals.hooks import register_outcome_handler

    def contract_approval_outcome(request, outcome):   # in the sales app's AppConfig.ready()
        ...                                             # move the contract's own status
    register_outcome_handler("sales.contract", contract_approval_outcome)

`outcome` is one of "approved", "rejected", "returned", "withdrawn", "resubmitted". Handlers
run inside the transaction of the decision (the subject moves atomically with the approval; a
handler that raises undoes the decision). The `approval_decided` signal is sent after commit
for every request, with or without a subject, for loosely coupled listeners (automation,
reports): `receiver(sender=ApprovalRequest, request=..., outcome=..., by=...)`.

For the to-do inbox: `apps.approvals.selectors.pending_tasks_for(user)`. For the automation
engine: `apps.approvals.services.approval_start(template=code, by=..., title=..., ...)`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models, transaction
from django.dispatch import Signal

OUTCOMES = ("approved", "rejected", "returned", "withdrawn", "resubmitted")

approval_decided = Signal()

_handlers: dict[str, list[Callable]] = {}


def _label(subject) -> str:
    if isinstance(subject, str):
        return subject.lower()
    if isinstance(subject, type) and issubclass(subject, models.Model):
        return f"{subject._meta.app_label}.{subject._meta.model_name}"
    raise TypeError("Give a model class or an 'app_label.model' label.")


def register_outcome_handler(subject, handler: Callable) -> None:
    """Call `handler(request, outcome)` when a request about a `subject` model gets an outcome."""
    handlers = _handlers.setdefault(_label(subject), [])
    if handler not in handlers:
        handlers.append(handler)


def unregister_outcome_handler(subject, handler: Callable) -> None:
    handlers = _handlers.get(_label(subject), [])
    if handler in handlers:
        handlers.remove(handler)


def outcome_reached(request, outcome: str, *, by=None) -> None:
    """Run the subject's handlers now; send `approval_decided` once the transaction commits."""
    if outcome not in OUTCOMES:
        raise ValueError(f"Unknown approval outcome {outcome!r}")
    if request.subject_type_id is not None:
        for handler in list(_handlers.get(request.subject_label, [])):
            handler(request, outcome)
    sender = type(request)
    transaction.on_commit(
        lambda: approval_decided.send(sender=sender, request=request, outcome=outcome, by=by)
    )
