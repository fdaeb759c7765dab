"""Evaluate a rule's conditions against a record. Values an admin typed are parsed by the
field's kind (number, date, …); nothing an admin types is ever evaluated as code."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from apps.studio.automation_models import Operator

_TODAY = re.compile(r"^today\s*(?:([+-])\s*(\d{1,4}))?$")
_TRUE = {"1", "true", "yes", "on", "y", "t", "是"}
_FALSE = {"0", "false", "no", "off", "n", "f", "否", ""}
NO_VALUE = {Operator.IS_EMPTY, Operator.IS_NOT_EMPTY, Operator.CHANGED}
ORDERED = {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE}


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _date(text: str, *, today: dt.date | None = None) -> dt.date:
    text = text.strip().lower()
    m = _TODAY.match(text)
    if m:
        base = today or timezone.localdate()
        days = int(m.group(2) or 0)
        return base + dt.timedelta(days=-days if m.group(1) == "-" else days)
    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(text)
    return parsed


def parse(kind: str, text: str):
    """An admin's typed value, as the kind of the field (raises ValueError)."""
    text = (text or "").strip()
    if kind == "number":
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(text) from exc
    if kind in ("date", "datetime"):
        return _date(text)
    if kind == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(text)
    if kind == "fk":
        if text == "":
            return None
        return int(text)
    return text


def _coerce(kind: str, value):
    """A record's stored value, comparable with `parse`'s output."""
    if _empty(value):
        return None
    if kind == "number":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if kind == "date":
        return value if isinstance(value, dt.date) else parse_date(str(value)[:10])
    if kind == "datetime":
        if isinstance(value, str):
            value = parse_datetime(value) or parse_date(value[:10])
        if isinstance(value, dt.datetime):
            # Conditions on date-times compare local calendar days ("before today+3").
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        return value
    if kind == "bool":
        return bool(value)
    if kind == "fk":
        return int(value.pk if hasattr(value, "pk") else value)
    if kind == "multichoice":
        return [str(v) for v in value]
    return str(value)


def check(spec, field: str, operator: str, value: str) -> None:
    """ValidationError when `value` doesn't parse for `field`'s kind or the operator misfits."""
    kind = spec.field_kind(field)
    if operator in NO_VALUE:
        return
    if operator in ORDERED and kind not in ("number", "date", "datetime", "text", "choice"):
        raise ValidationError({"operator": _("This operator needs a number, date or text.")})
    items = _split(value) if operator in (Operator.IN, Operator.NOT_IN) else [value]
    if kind in ("multichoice", "text", "choice") or operator in (
        Operator.CONTAINS,
        Operator.NOT_CONTAINS,
        Operator.STARTS_WITH,
    ):
        return
    for item in items:
        try:
            parse(kind, item)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                {"value": _("“%(value)s” is not a valid value for this field.") % {"value": item}}
            ) from exc


def _split(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def evaluate_one(spec, instance, condition, changes: dict) -> bool:
    field, op, text = condition.field, condition.operator, condition.value
    if op == Operator.CHANGED:
        if field.startswith("custom."):
            return field[7:] in (changes.get("custom") or [])
        return field in changes
    kind = spec.field_kind(field)
    try:
        current = _coerce(kind, spec.value(instance, field))
    except KeyError:
        return False
    if op == Operator.IS_EMPTY:
        return _empty(current)
    if op == Operator.IS_NOT_EMPTY:
        return not _empty(current)
    try:
        if op in (Operator.IN, Operator.NOT_IN):
            options = [parse(kind if kind != "multichoice" else "text", t) for t in _split(text)]
            if kind == "multichoice":
                hit = bool(set(current or []) & {str(o) for o in options})
            else:
                hit = current in options
            return hit if op == Operator.IN else not hit
        if op in (Operator.CONTAINS, Operator.NOT_CONTAINS):
            if kind == "multichoice":
                hit = text.strip() in (current or [])
            else:
                hit = text.strip().lower() in ("" if current is None else str(current).lower())
            return hit if op == Operator.CONTAINS else not hit
        if op == Operator.STARTS_WITH:
            return current is not None and str(current).lower().startswith(text.strip().lower())
        target = parse("text" if kind in ("choice", "multichoice") else kind, text)
        if kind == "multichoice":
            current = ",".join(current or [])
        if op == Operator.EQ:
            return current == target
        if op == Operator.NE:
            return current != target
        if current is None or target is None:
            return False
        return {
            Operator.GT: current > target,
            Operator.GTE: current >= target,
            Operator.LT: current < target,
            Operator.LTE: current <= target,
        }[op]
    except (ValueError, TypeError, KeyError):
        # A value that no longer parses (a field changed kind): the condition is not met.
        return False


def evaluate(spec, instance, rule, changes: dict | None = None) -> bool:
    conds = getattr(rule, "cached_conditions", None)
    if conds is None:
        conds = list(rule.conditions.all())
    if not conds:
        return True
    changes = changes or {}
    results = (evaluate_one(spec, instance, c, changes) for c in conds)
    return any(results) if rule.match == "any" else all(results)
