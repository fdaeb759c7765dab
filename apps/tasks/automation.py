"""Tasks and automation (DESIGN §4.3): tasks are open to rules, and rules get a "create task"
action. Registered from TasksConfig.ready(); apps/customers/automation.py is the pattern.

create_task parameters (validated when the rule is saved):
    title        template over whitelisted fields, e.g. "Onboard {contract.customer}" (required)
    description  template (optional)
    assignee     "owner" (the record's owner), "owner_manager", "user" (+ "user": id) or
                 "role" (+ "role": group name; the first active member by id)
    due_in_days  whole days from today (due at 18:00 local time); optional
The task links to the record (generic link) and to its customer when it has one (a record's
`customer`, or its contract's customer for payments and invoices). It is created through
`task_create` as the system (by=None): history, notification of the assignee apply.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.studio.automation import (
    ActionContext,
    ActionSpec,
    ModelSpec,
    check_template,
    register_action,
    register_model,
)

TASK_FIELDS = [
    "title",
    "description",
    "status",
    "priority",
    "assignee",
    "creator",
    "department",
    "customer",
    "progress",
    "due_at",
    "created_at",
    "started_at",
    "completed_at",
]
TASK_SETTABLE = ["title", "description", "priority", "due_at"]
ASSIGNEE_MODES = ("owner", "owner_manager", "user", "role")
MAX_DUE_DAYS = 3650


def _coerce(data):
    out = dict(data)
    for name in ("due_at", "remind_at"):
        if isinstance(out.get(name), str):
            out[name] = parse_datetime(out[name]) or out[name]
    if isinstance(out.get("repeat_until"), str):
        out["repeat_until"] = parse_date(out["repeat_until"][:10]) or out["repeat_until"]
    return out


def _task_update(task, data):
    from .services import task_update

    return task_update(task=task, by=None, data=_coerce(data))


def _task_assign(task, assignee):
    from .services import task_assign

    return task_assign(task=task, assignee=assignee, by=None)


# --- create task --------------------------------------------------------------------------
def _template(params: dict, key: str, spec, *, required: bool) -> str:
    text = str(params.get(key) or "")
    if required and not text.strip():
        raise ValidationError({"params": _("%(key)s: write the text.") % {"key": key}})
    try:
        return check_template(text, spec)
    except ValidationError as exc:
        raise ValidationError({"params": [f"{key}: {m}" for m in exc.messages]}) from exc


def _clean_create_task(params: dict, spec: ModelSpec) -> dict:
    mode = params.get("assignee", "owner")
    if mode not in ASSIGNEE_MODES:
        raise ValidationError(
            {"params": _("assignee: one of %(m)s.") % {"m": ", ".join(ASSIGNEE_MODES)}}
        )
    out = {
        "title": _template(params, "title", spec, required=True),
        "description": _template(params, "description", spec, required=False),
        "assignee": mode,
    }
    if mode in ("owner", "owner_manager") and not spec.owner_field:
        raise ValidationError({"params": _("This model has no owner: choose a user or a role.")})
    if mode == "user":
        user = params.get("user")
        if not str(user).isdigit() or not (
            get_user_model().objects.filter(pk=int(user), is_active=True).exists()
        ):
            raise ValidationError({"params": _("user: the id of an active user.")})
        out["user"] = int(user)
    if mode == "role":
        role = str(params.get("role") or "")
        if not Group.objects.filter(name=role).exists():
            raise ValidationError({"params": _("role: the name of an existing role.")})
        out["role"] = role
    days = params.get("due_in_days")
    if days not in (None, ""):
        try:
            days = int(days)
        except (TypeError, ValueError):
            days = -1
        if not 0 <= days <= MAX_DUE_DAYS:
            raise ValidationError(
                {"params": _("due_in_days: a whole number of days from 0 to 3650.")}
            )
        out["due_in_days"] = days
    return out


def _assignee(ctx: ActionContext):
    User = get_user_model()
    mode = ctx.params.get("assignee", "owner")
    if mode == "user":
        return User.objects.filter(pk=ctx.params.get("user"), is_active=True).first()
    if mode == "role":
        return (
            User.objects.filter(groups__name=ctx.params.get("role"), is_active=True)
            .order_by("pk")
            .first()
        )
    owner = ctx.spec.owner_of(ctx.instance)
    if mode == "owner_manager":
        owner = getattr(owner, "manager", None) if owner is not None else None
    return owner if owner is not None and owner.is_active else None


def _customer_of(instance: models.Model):
    from apps.customers.models import Customer

    if isinstance(instance, Customer):
        return instance
    if getattr(instance, "customer_id", None):
        return instance.customer
    contract = getattr(instance, "contract", None)  # payments, invoices
    if isinstance(contract, models.Model) and getattr(contract, "customer_id", None):
        return contract.customer
    return None


def run_create_task(ctx: ActionContext):
    from .services import task_create

    assignee = _assignee(ctx)
    if assignee is None:
        return {"skipped": "no active assignee"}
    due_at = None
    if ctx.params.get("due_in_days") is not None:
        day = timezone.localdate() + dt.timedelta(days=int(ctx.params["due_in_days"]))
        due_at = timezone.make_aware(dt.datetime.combine(day, dt.time(18)))
    task = task_create(
        by=None,
        data={
            "title": ctx.render(ctx.params["title"], for_user=assignee)[:200],
            "description": ctx.render(ctx.params.get("description") or "", for_user=assignee),
            "assignee": assignee,
            "due_at": due_at,
            "customer": _customer_of(ctx.instance),
            "link": ctx.instance,
        },
    )
    return {"task": task.pk, "assignee": assignee.pk}


def register() -> None:
    from .models import Task

    register_model(
        ModelSpec(
            model=Task,
            name="task",
            fields=TASK_FIELDS,
            owner_field="assignee",
            update=_task_update,
            assign=_task_assign,
            settable=TASK_SETTABLE,
        )
    )
    register_action(
        ActionSpec(
            key="create_task",
            label=gettext_lazy("Create a task"),
            run=run_create_task,
            clean=_clean_create_task,
            help=gettext_lazy(
                "A task linked to the record (and its customer), for the owner, the owner's "
                "manager, a user or the first member of a role; due in N days."
            ),
            params_example={
                "title": "Onboard {contract.customer}",
                "description": "",
                "assignee": "user",
                "user": 3,
                "due_in_days": 3,
            },
        )
    )
