"""Helpers shared by the customers services."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models

from apps.org.fields import field_access
from apps.org.history import record_created_history

from ..models import Customer, CustomerEvent


def require(by, perm: str, obj: models.Model | None = None) -> None:
    """PermissionDenied unless `by` holds `perm` (on `obj`); `by=None` is the system itself
    (scheduled jobs, demo data, migrations) and may do anything."""
    if by is None:
        return
    allowed = by.has_perm(perm, obj) if obj is not None else by.has_perm(perm)
    if not allowed:
        raise PermissionDenied


def refuse_restricted(by, model, names: Iterable[str], obj=None) -> None:
    """Field security for every write path: naming a field the user may not change is an error."""
    if by is None:
        return
    access = field_access(by, model, obj)
    refused = access.refused_writes(names)
    if refused:
        from django.utils.translation import gettext as _

        raise ValidationError(
            {name: [_("You are not allowed to change this field.")] for name in refused}
        )


def plain(value):
    """A JSON-friendly copy of a field value for event payloads."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def apply(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> dict[str, list]:
    """Set the allowed fields present in `data`; return {field: [old, new]} of real changes."""
    changes: dict[str, list] = {}
    for name in allowed:
        if name not in data:
            continue
        field = instance._meta.get_field(name)
        attr = (
            field.attname
            if field.is_relation and not isinstance(data[name], models.Model)
            else name
        )
        old = getattr(instance, attr)
        new = data[name]
        if isinstance(new, str) and not isinstance(field, models.JSONField):
            new = new.strip()
        if (
            new is None
            and isinstance(field, models.CharField | models.TextField)
            and not field.null
        ):
            new = ""
        old_plain = plain(old)
        new_plain = plain(new)
        if old_plain != new_plain:
            setattr(instance, attr, new)
            changes[name] = [old_plain, new_plain]
    return changes


def record(customer: Customer, kind: str, by, /, **payload) -> CustomerEvent:
    return CustomerEvent.objects.create(
        customer=customer, kind=kind, actor=by if by is not None else None, payload=payload
    )


def validation_error_dict(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"detail": [str(m) for m in exc.messages]}


def bulk_insert(
    model: type[models.Model], objs: list, *, batch_size: int | None = 1000, by=None
) -> list:
    """`Model.objects.bulk_create(objs)` for new rows; on PostgreSQL through COPY.

    Django's bulk INSERT binds every value client-side (psycopg quotes ~40 arrays per batch
    in Python): for a 100k-row import that was most of the time. Here ids come from the
    table's sequence in one query per batch, then the rows are streamed with COPY; each
    field's `pre_save` runs as in an INSERT (auto_now, defaults). Same objects back, with pks.
    """
    if not objs:
        return objs
    objs = _bulk_insert(model, objs, batch_size=batch_size)
    # Imports leave field history like single saves do ("created" rows, actor `by`).
    record_created_history(objs, by=by)
    return objs


def _bulk_insert(model, objs: list, *, batch_size: int | None) -> list:
    from django.db import connections, router

    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or getattr(connection, "connection", None) is None:
        return model.objects.bulk_create(objs, batch_size=batch_size)
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in [opts.pk, *fields])
    table = connection.ops.quote_name(opts.db_table)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [opts.db_table, opts.pk.column])
        sequence = cursor.fetchone()[0]
    step = batch_size or len(objs)
    for start in range(0, len(objs), step):
        chunk = objs[start : start + step]
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, len(chunk)])
            ids = [row[0] for row in cursor.fetchall()]
            # The psycopg cursor behind Django's; errors still become Django's (IntegrityError).
            with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for obj, pk in zip(chunk, ids, strict=True):
                    obj._prepare_related_fields_for_save(operation_name="bulk_insert")
                    row = [pk]
                    for f in fields:
                        value = f.pre_save(obj, True)
                        if f.attname in json_fields:
                            value = None if value is None else f.get_db_prep_save(value, connection)
                        row.append(value)
                    copy.write_row(row)
                    obj.pk = pk
                    obj._state.adding = False
                    obj._state.db = alias
    return objs
