"""Step conditions: a small, safe rule language stored as JSON — never code.

    {"match": "all" | "any",
     "rules": [{"field": "amount", "op": "gte", "value": "100000"},
               {"field": "data.days", "op": "gt", "value": 3},
               {"field": "department", "op": "in", "value": ["销售部", 7]}]}

Fields: `amount`, `department` (the initiator's department at submission, matched by id or
name) and `data.<key>` (a value of the request form). Operators: eq, ne, gt, gte, lt, lte, in,
contains. Numbers compare as decimals, other values as text (ISO dates order correctly). A rule
on a value the request doesn't have is false (`ne` is true). No rules: the condition holds.
The admin edits rules as lines of text ("amount gte 100000"), see `rules_to_text`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains")
MATCHES = ("all", "any")
FIELD_RE = re.compile(r"^(amount|department|data\.[a-z][a-z0-9_]{0,49})$")
_MISSING = object()


def normalise_condition(raw) -> dict:
    """Validate a condition; return it in canonical form ({} when there are no rules)."""
    if raw in (None, "", {}, []):
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError(_('A condition is an object with "match" and "rules".'))
    match = raw.get("match", "all")
    if match not in MATCHES:
        raise ValidationError(_('"match" must be "all" or "any".'))
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise ValidationError(_('"rules" must be a list.'))
    out = []
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, Mapping):
            raise ValidationError(_("Rule %(n)s is not an object.") % {"n": n})
        field, op, value = rule.get("field"), rule.get("op"), rule.get("value")
        if not isinstance(field, str) or not FIELD_RE.match(field):
            raise ValidationError(
                _("Rule %(n)s: unknown field %(field)s (use amount, department or data.<key>).")
                % {"n": n, "field": field}
            )
        if op not in OPS:
            raise ValidationError(
                _("Rule %(n)s: unknown operator %(op)s (use %(ops)s).")
                % {"n": n, "op": op, "ops": ", ".join(OPS)}
            )
        if op == "in":
            if isinstance(value, str):
                value = [v.strip() for v in re.split(r"[,，]", value) if v.strip()]
            if not isinstance(value, list) or not value:
                raise ValidationError(_('Rule %(n)s: "in" needs a list of values.') % {"n": n})
            if any(isinstance(v, dict | list) for v in value):
                raise ValidationError(_("Rule %(n)s: list values must be plain.") % {"n": n})
        elif isinstance(value, dict | list) or value is None:
            raise ValidationError(_("Rule %(n)s: give one plain value.") % {"n": n})
        if op in ("gt", "gte", "lt", "lte") and field == "department":
            raise ValidationError(_("Rule %(n)s: departments can't be ordered.") % {"n": n})
        out.append({"field": field, "op": op, "value": value})
    if not out:
        return {}
    return {"match": match, "rules": out}


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _equal(left, right) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, bool) or isinstance(right, bool):
        truthy = {"true", "1", "yes", "是"}
        return (str(left).lower() in truthy) == (str(right).lower() in truthy)
    return str(left).strip().casefold() == str(right).strip().casefold()


def _ordered(left, right, op: str) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        if isinstance(left, str) and isinstance(right, str) and a is None and b is None:
            a, b = left, right  # dates and other text in ISO form
        else:
            return False
    if op == "gt":
        return a > b
    if op == "gte":
        return a >= b
    if op == "lt":
        return a < b
    return a <= b


def _rule_holds(candidates: list, op: str, value) -> bool:
    """`candidates`: the values the field stands for (a department is its id and its name)."""
    if not candidates:
        return op == "ne"
    if op == "eq":
        return any(_equal(c, value) for c in candidates)
    if op == "ne":
        return not any(_equal(c, value) for c in candidates)
    if op == "in":
        return any(_equal(c, v) for c in candidates for v in value)
    if op == "contains":
        for c in candidates:
            if isinstance(c, list | tuple):
                if any(_equal(item, value) for item in c):
                    return True
            elif c is not None and str(value).casefold() in str(c).casefold():
                return True
        return False
    return any(_ordered(c, value, op) for c in candidates)


def field_values(field: str, context: Mapping) -> list:
    """The candidate values of `field` in an evaluation context."""
    if field == "amount":
        return [context.get("amount")]
    if field == "department":
        dept = context.get("department")
        if dept is None:
            return []
        values = (getattr(dept, "pk", None), getattr(dept, "name", None))
        return [v for v in values if v is not None]
    key = field.split(".", 1)[1]
    value = (context.get("data") or {}).get(key, _MISSING)
    if value is _MISSING or value in (None, ""):
        return []
    return [value]


def evaluate(condition: Mapping | None, context: Mapping) -> bool:
    """Does the condition hold for `context` = {"amount", "department", "data"}?"""
    if not condition or not condition.get("rules"):
        return True
    results = (
        _rule_holds(field_values(rule["field"], context), rule["op"], rule["value"])
        for rule in condition["rules"]
    )
    return any(results) if condition.get("match") == "any" else all(results)


def context_for(request) -> dict:
    return {"amount": request.amount, "department": request.department, "data": request.data or {}}


# --- the admin's text form: one rule per line, "field op value" -----------------------------


def rules_to_text(condition: Mapping | None) -> str:
    lines = []
    for rule in (condition or {}).get("rules", []):
        value = rule["value"]
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{rule['field']} {rule['op']} {value}")
    return "\n".join(lines)


def text_to_condition(text: str, match: str = "all") -> dict:
    rules = []
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise ValidationError(
                _('Line %(n)s: write "field operator value", e.g. "amount gte 100000".') % {"n": n}
            )
        field, op, value = parts
        rules.append({"field": field, "op": op.lower(), "value": value.strip()})
    return normalise_condition({"match": match, "rules": rules})
