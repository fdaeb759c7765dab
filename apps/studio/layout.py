"""Detail pages: a record's fields (built-in + custom) grouped by the form layout, secured."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from apps.org.fields import field_access

from .registry import definitions_for, layout_for
from .validation import display_value


def detail_sections(user, obj: models.Model, builtin: list[str]) -> list[dict]:
    """[{"title", "rows": [(label, value_text)]}] of `obj` as `user` may see it.

    `builtin` lists the built-in field names the page shows, in default order.
    """
    model = type(obj)
    access = field_access(user, model, obj)
    defs = {d.key: d for d in definitions_for(model)}
    custom = getattr(obj, "custom", None) or {}
    _hidden, sections = layout_for(model)

    def row(name):
        if not access.can_view(name):
            return None
        if name in defs:
            d = defs[name]
            return (d.label, display_value(d, custom.get(name)))
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a layout may name a field that was removed since
            return None
        display = getattr(obj, f"get_{name}_display", None)
        value = display() if callable(display) else getattr(obj, name, "")
        return (str(field.verbose_name), "" if value is None else str(value))

    placed, out = set(), []
    for title, names, _columns, _collapsed in sections:
        names = names + [k for k, d in defs.items() if d.section == title and k not in names]
        rows = []
        for name in names:
            if name in placed:
                continue
            r = row(name)
            placed.add(name)
            if r:
                rows.append(r)
        if rows:
            out.append({"title": title, "rows": rows})
    rest = [r for r in (row(n) for n in builtin + list(defs) if n not in placed) if r]
    if rest:  # fields no section places: the record's main facts, shown first
        out.insert(0, {"title": "", "rows": rest})
    return out
