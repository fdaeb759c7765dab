"""Actions studio itself provides: set a field, assign the owner. Both write through the owning
app's services (registered with the model), never by saving the row directly."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import conditions
from .registry import ActionContext, ActionSpec, ModelSpec, register_action


# --- set field ---------------------------------------------------------------------------
def _clean_set_field(params: dict, spec: ModelSpec) -> dict:
    field = str(params.get("field") or "")
    allowed = spec.settable_fields()
    is_custom = field.startswith("custom.") and spec.has_field(field)
    if field not in allowed and not is_custom:
        raise ValidationError(
            {"params": _("Choose a field this rule may set: %(names)s.") % {"names": allowed}}
        )
    value = params.get("value")
    if field in allowed and spec.field_kind(field) in ("number", "date", "bool", "fk"):
        try:
            conditions.parse(spec.field_kind(field), "" if value is None else str(value))
        except (ValueError, TypeError) as exc:
            raise ValidationError({"params": _("The value does not fit the field.")}) from exc
    return {"field": field, "value": value}


def _value_for(spec: ModelSpec, field: str, raw):
    if isinstance(raw, str):
        kind = spec.field_kind(field)
        if kind in ("date", "datetime") and raw.strip().lower().startswith("today"):
            # "today+3" style values are resolved when the rule runs; a date-time gets 09:00
            # local time on that day.
            day = conditions.parse("date", raw)
            if kind == "date":
                return day.isoformat()
            return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
        if kind == "bool":
            return conditions.parse("bool", raw)
    return raw


def run_set_field(ctx: ActionContext):
    field, raw = ctx.params["field"], ctx.params.get("value")
    value = _value_for(ctx.spec, field, raw)
    if field.startswith("custom."):
        data = {"custom": {field[7:]: value}}
    else:
        data = {field: value}
    ctx.spec.update(ctx.instance, data)
    return {"field": field, "value": value}


# --- assign owner ------------------------------------------------------------------------
MODES = ("user", "round_robin", "territory", "manager")


def _clean_assign(params: dict, spec: ModelSpec) -> dict:
    mode = params.get("mode", "user")
    if mode not in MODES:
        raise ValidationError({"params": _("mode: one of %(m)s.") % {"m": ", ".join(MODES)}})
    User = get_user_model()
    out = {"mode": mode}
    if mode == "user":
        if not User.objects.filter(pk=params.get("user"), is_active=True).exists():
            raise ValidationError({"params": _("user: the id of an active user.")})
        out["user"] = int(params["user"])
    if mode == "round_robin" or (mode == "territory" and params.get("users")):
        ids = [int(i) for i in params.get("users") or [] if str(i).isdigit()]
        found = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
        if not ids or found != set(ids):
            raise ValidationError({"params": _("users: a list of ids of active users.")})
        out["users"] = ids
    if mode == "territory" and spec.territory_owner is None:
        raise ValidationError({"params": _("This model has no territories.")})
    return out


def _next_in_turn(ctx: ActionContext, ids: list[int]):
    from apps.studio.models import RuleAction

    User = get_user_model()
    with transaction.atomic():
        action = RuleAction.objects.select_for_update().get(pk=ctx.action.pk)
        active = list(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
        ordered = [i for i in ids if i in set(active)]
        if not ordered:
            return None
        pick = ordered[action.cursor % len(ordered)]
        RuleAction.objects.filter(pk=action.pk).update(cursor=action.cursor + 1)
    return User.objects.get(pk=pick)


def run_assign(ctx: ActionContext):
    User = get_user_model()
    mode = ctx.params.get("mode", "user")
    owner = None
    if mode == "user":
        owner = User.objects.filter(pk=ctx.params.get("user"), is_active=True).first()
    elif mode == "manager":
        current = ctx.spec.owner_of(ctx.instance)
        owner = getattr(current, "manager", None)
    elif mode == "territory":
        owner = ctx.spec.territory_owner(ctx.instance)
        if owner is None and ctx.params.get("users"):
            owner = _next_in_turn(ctx, ctx.params["users"])
    elif mode == "round_robin":
        owner = _next_in_turn(ctx, ctx.params["users"])
    if owner is None:
        raise LookupError(_("No owner found for mode %(mode)s.") % {"mode": mode})
    current = ctx.spec.owner_of(ctx.instance)
    if current is not None and current.pk == owner.pk:
        return {"owner": owner.pk, "unchanged": True}
    ctx.spec.assign(ctx.instance, owner)
    return {"owner": owner.pk}


def register_builtin() -> None:
    register_action(
        ActionSpec(
            key="set_field",
            label=gettext_lazy("Set a field"),
            run=run_set_field,
            clean=_clean_set_field,
            requires=lambda spec: spec.update is not None,
            help=gettext_lazy(
                '{"field": "level", "value": "A"}; dates may be "today+3"; '
                'custom fields: "custom.<key>".'
            ),
        )
    )
    register_action(
        ActionSpec(
            key="assign_owner",
            label=gettext_lazy("Assign the owner"),
            run=run_assign,
            clean=_clean_assign,
            requires=lambda spec: spec.assign is not None,
            help=gettext_lazy(
                '{"mode": "user", "user": 3} | {"mode": "round_robin", "users": [3, 4]} | '
                '{"mode": "territory", "users": [3, 4]} (fallback turn) | {"mode": "manager"}'
            ),
        )
    )
