"""Field-level change history (who, when, field, old → new), read from django-simple-history.

Domain models opt in with `history = HistoricalRecords(...)` (docs/history-audit.md). This
module turns their historical rows into what a person reads, honouring field security: a field
the reader may not see is left out of every entry, old and new value alike. Bulk writes that
bypass `Model.save()` (queryset `.update()`, COPY imports) call `record_history()` afterwards so
they leave rows too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords
from simple_history.utils import get_history_manager_for_model

from .fields import FieldAccess, field_access, securable_fields

KINDS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    name: str
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: object
    actor: object  # a User or None (a scheduled job, an import without a user)
    kind: str  # created / changed / deleted
    reason: str = ""
    changes: list[Change] = field(default_factory=list)

    @property
    def title(self) -> str:
        return {
            "created": _("created the record"),
            "changed": _("changed"),
            "deleted": _("deleted the record"),
        }[self.kind]


def has_history(model: type[models.Model]) -> bool:
    try:
        get_history_manager_for_model(model)
    except Exception:  # NotHistoricalModelError and friends: the model keeps no history
        return False
    return True


def tracked_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields of `model` its historical model copies (excluded ones left out)."""
    historical = get_history_manager_for_model(model).model
    names = {f.name for f in historical._meta.fields}
    return [
        f
        for f in model._meta.concrete_fields
        if f.name in names and not f.primary_key and f.name != "custom"
    ]


def record_history(
    model: type[models.Model], pks: Iterable[int], *, by=None, reason: str = ""
) -> int:
    """Write one "changed" history row per record in `pks`, as it is now in the database.

    For write paths that skip `save()` (queryset `.update()`, COPY imports); costs one read and
    one bulk insert. Returns the number of rows written.
    """
    pks = list(pks)
    if not pks or not has_history(model):
        return 0
    by = by if by is not None else _request_user()
    objs = list(model._base_manager.filter(pk__in=pks))
    manager = get_history_manager_for_model(model)
    manager.bulk_history_create(
        objs,
        update=True,
        default_user=by,
        default_change_reason=reason or None,
        default_date=timezone.now(),
    )
    return len(objs)


def _request_user():
    """The signed-in user of the request being served, as simple-history's middleware saw it."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def record_created_history(objs: list[models.Model], *, by=None, reason: str = "") -> None:
    """A "created" history row for each newly bulk-inserted record (imports)."""
    objs = [o for o in objs if o.pk is not None]
    if not objs or not has_history(type(objs[0])):
        return
    get_history_manager_for_model(type(objs[0])).bulk_history_create(
        objs,
        default_user=by if by is not None else _request_user(),
        default_change_reason=reason or None,
    )


def _display(model, fld: models.Field, raw, names: dict) -> str:
    if raw is None or raw == "":
        return "—"
    if fld.is_relation:
        return names.get((fld.related_model, raw), f"#{raw}")
    if fld.choices:
        return str(dict(fld.flatchoices).get(raw, raw))
    if isinstance(fld, models.BooleanField):
        return _("Yes") if raw else _("No")
    if isinstance(fld, models.DateTimeField):
        return timezone.localtime(raw).strftime("%Y-%m-%d %H:%M")
    return str(raw)


def _custom_display(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def history_entries(obj: models.Model, *, user, limit: int = 50) -> list[HistoryEntry]:
    """The newest `limit` history entries of `obj` that `user` can read (field security)."""
    model = type(obj)
    access: FieldAccess = field_access(user, model, obj)
    manager = get_history_manager_for_model(model)
    # One extra row: the state before the oldest shown entry, to diff against.
    rows = list(
        manager.model.objects.filter(**{model._meta.pk.attname: obj.pk})
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    fields = [f for f in tracked_fields(model) if access.can_view(f.name)]
    labels = dict(securable_fields(model))

    # Names of every referenced record in one query per related model (no N+1).
    wanted: dict[type, set] = defaultdict(set)
    for row in rows:
        for f in fields:
            if f.is_relation:
                value = getattr(row, f.attname)
                if value is not None:
                    wanted[f.related_model].add(value)
    names = {}
    for rel_model, ids in wanted.items():
        for pk, rel in rel_model._base_manager.in_bulk(list(ids)).items():
            names[(rel_model, pk)] = str(rel)

    entries = []
    for i, row in enumerate(rows[:limit]):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        kind = KINDS.get(row.history_type, "changed")
        entry = HistoryEntry(
            at=row.history_date,
            actor=row.history_user,
            kind=kind,
            reason=row.history_change_reason or "",
        )
        if kind == "changed":
            if prev is None:
                continue  # the first row we hold of an older record: nothing to compare with
            for f in fields:
                old, new = getattr(prev, f.attname), getattr(row, f.attname)
                if old != new:
                    entry.changes.append(
                        Change(
                            f.name,
                            str(f.verbose_name),
                            _display(model, f, old, names),
                            _display(model, f, new, names),
                        )
                    )
            old_c = getattr(prev, "custom", None) or {}
            new_c = getattr(row, "custom", None) or {}
            for key in sorted(set(old_c) | set(new_c)):
                if old_c.get(key) != new_c.get(key) and access.can_view(key):
                    entry.changes.append(
                        Change(
                            key,
                            labels.get(key, key),
                            _custom_display(old_c.get(key)),
                            _custom_display(new_c.get(key)),
                        )
                    )
            if not entry.changes:
                continue  # only hidden or untracked fields changed
        entries.append(entry)
    return entries


__all__ = [
    "Change",
    "HistoryEntry",
    "has_history",
    "history_entries",
    "record_created_history",
    "record_history",
]
