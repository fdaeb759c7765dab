"""Report-builder queries: validate a definition, run it with the ORM, drill down.

A definition (stored in `SavedReport.definition`, sent by the builder page and the API):

    {"dimensions": [{"field": "owner__department"}, {"field": "created_at", "bucket": "month"}],
     "measures":   [{"agg": "count"}, {"agg": "sum", "field": "amount"}],
     "filters":    [{"field": "status", "op": "eq", "value": "won"},
                    {"field": "closed_at", "op": "eq", "value": "this_quarter"}],
     "match": "all", "sort": {"by": "m1", "desc": true}, "limit": 50}

Every query starts from `Model.objects.visible_to(user)`; only ORM expressions are built (no
SQL text). A field the user may not see (field security) is refused with a 400 naming it —
never silently dropped — whether it is a dimension, a measure, a filter or the sort key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Avg, Count, F, Max, Min, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Substr, Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError

from ..params import RELATIVE_NAMES, add_months, day_start, relative_range
from .registry import (
    DATES,
    KIND_BOOL,
    KIND_CHOICE,
    KIND_DATETIME,
    KIND_DECIMAL,
    KIND_FK,
    KIND_INT,
    KIND_MULTI,
    KIND_USER,
    NUMERIC,
    FieldInfo,
    SourceSpec,
    get_source,
    source_fields,
    visible_fields,
)

BUCKETS = ("day", "week", "month", "quarter", "year")
AGGREGATES = ("count", "sum", "avg", "min", "max")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "isnull")
CHARTS = ("bar", "stacked_bar", "line", "pie", "funnel", "table", "number")
MAX_DIMENSIONS = 2
MAX_MEASURES = 5
MAX_FILTERS = 10
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
NULL = "__null__"


@dataclass
class Dimension:
    info: FieldInfo
    bucket: str = ""

    def as_dict(self) -> dict:
        return {"field": self.info.path, **({"bucket": self.bucket} if self.bucket else {})}


@dataclass
class Measure:
    agg: str
    info: FieldInfo | None = None

    def as_dict(self) -> dict:
        return {"agg": self.agg, **({"field": self.info.path} if self.info else {})}

    def label(self) -> str:
        if self.agg == "count":
            return _("Count")
        names = {"sum": _("Sum"), "avg": _("Average"), "min": _("Minimum"), "max": _("Maximum")}
        return f"{names[self.agg]} · {self.info.label}"


@dataclass
class Filter:
    info: FieldInfo
    op: str
    value: object
    raw: object = None

    def as_dict(self) -> dict:
        return {"field": self.info.path, "op": self.op, "value": self.raw}


@dataclass
class BuilderQuery:
    source: SourceSpec
    dimensions: list[Dimension]
    measures: list[Measure]
    filters: list[Filter] = field(default_factory=list)
    match: str = "all"
    sort_by: str = ""
    sort_desc: bool = True
    limit: int = DEFAULT_LIMIT
    # Filters added from outside the definition (a dashboard's period and department): always
    # all of them, whatever `match` says of the definition's own filters. Never saved.
    extra_filters: list[Filter] = field(default_factory=list)

    def definition(self) -> dict:
        """The canonical form stored on the saved report."""
        return {
            "dimensions": [d.as_dict() for d in self.dimensions],
            "measures": [m.as_dict() for m in self.measures],
            "filters": [f.as_dict() for f in self.filters],
            "match": self.match,
            "sort": {"by": self.sort_by, "desc": self.sort_desc},
            "limit": self.limit,
        }


# --- validation -----------------------------------------------------------------------------


def _field(path, *, fields, visible, errors: list, where: str) -> FieldInfo | None:
    if not isinstance(path, str) or path not in fields:
        errors.append(_("%(where)s: unknown field %(field)s.") % {"where": where, "field": path})
        return None
    if path not in visible:
        errors.append(
            _("%(where)s: you are not allowed to use the field %(field)s.")
            % {"where": where, "field": path}
        )
        return None
    return visible[path]


def _coerce(info: FieldInfo, value, *, where: str):
    """A filter value in the field's type; ValidationError with a readable message otherwise."""
    if value is None or value == "":
        raise ValidationError(_("%(where)s: give a value.") % {"where": where})
    if isinstance(value, dict | list):
        raise ValidationError(_("%(where)s: give one plain value.") % {"where": where})
    text = str(value).strip()
    try:
        if info.kind in NUMERIC:
            return Decimal(text) if info.kind == KIND_DECIMAL else int(Decimal(text))
        if info.kind in (KIND_FK, KIND_USER):
            return int(text)
        if info.kind == KIND_BOOL:
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "是"):
                return True
            if lowered in ("false", "0", "no", "否"):
                return False
            raise ValueError(text)
        if info.kind in DATES:
            if text in RELATIVE_NAMES:
                return text
            return dt.date.fromisoformat(text[:10])
    except (ValueError, InvalidOperation, TypeError):
        raise ValidationError(
            _("%(where)s: %(value)s is not a valid value for %(field)s.")
            % {"where": where, "value": text, "field": info.label}
        ) from None
    if info.kind == KIND_CHOICE and info.choices and text not in {v for v, _l in info.choices}:
        raise ValidationError(
            _("%(where)s: %(value)s is not one of the choices of %(field)s.")
            % {"where": where, "value": text, "field": info.label}
        )
    return text


def parse_definition(source_key: str, definition, user) -> BuilderQuery:
    """Validate a definition for `user`; ServiceError with field errors (API: 400) if invalid."""
    spec = get_source(source_key) if isinstance(source_key, str) else None
    if spec is None:
        raise ServiceError(_("Unknown data source."), field="source")
    if not spec.allowed(user):
        raise ServiceError(_("You may not report on this data."), field="source")
    if not isinstance(definition, dict):
        raise ServiceError(_("The definition must be an object."), field="definition")
    fields = source_fields(spec)
    visible = visible_fields(spec, user)
    errors: dict[str, list[str]] = {}

    def bucket_errors(key):
        return errors.setdefault(key, [])

    dims = []
    raw_dims = definition.get("dimensions") or []
    if not isinstance(raw_dims, list) or len(raw_dims) > MAX_DIMENSIONS:
        bucket_errors("dimensions").append(
            _("Give at most %(n)s dimensions.") % {"n": MAX_DIMENSIONS}
        )
        raw_dims = []
    for i, raw in enumerate(raw_dims, 1):
        where = _("Dimension %(n)s") % {"n": i}
        raw = raw if isinstance(raw, dict) else {"field": raw}
        info = _field(
            raw.get("field"),
            fields=fields,
            visible=visible,
            errors=bucket_errors("dimensions"),
            where=where,
        )
        if info is None:
            continue
        bucket = raw.get("bucket") or ""
        if info.kind in DATES:
            bucket = bucket or "month"
            if bucket not in BUCKETS:
                bucket_errors("dimensions").append(
                    _("%(where)s: bucket must be one of %(list)s.")
                    % {"where": where, "list": ", ".join(BUCKETS)}
                )
                continue
        elif bucket:
            bucket_errors("dimensions").append(
                _("%(where)s: only dates can be bucketed.") % {"where": where}
            )
            continue
        if info.kind == KIND_MULTI:
            bucket_errors("dimensions").append(
                _("%(where)s: a multiple-choice field cannot be a dimension.") % {"where": where}
            )
            continue
        dims.append(Dimension(info, bucket))

    measures = []
    raw_measures = definition.get("measures") or [{"agg": "count"}]
    if not isinstance(raw_measures, list) or len(raw_measures) > MAX_MEASURES:
        bucket_errors("measures").append(_("Give 1 to %(n)s measures.") % {"n": MAX_MEASURES})
        raw_measures = []
    for i, raw in enumerate(raw_measures, 1):
        where = _("Measure %(n)s") % {"n": i}
        raw = raw if isinstance(raw, dict) else {"agg": raw}
        agg = raw.get("agg")
        if agg not in AGGREGATES:
            bucket_errors("measures").append(
                _("%(where)s: the aggregate must be one of %(list)s.")
                % {"where": where, "list": ", ".join(AGGREGATES)}
            )
            continue
        if agg == "count":
            measures.append(Measure("count"))
            continue
        info = _field(
            raw.get("field"),
            fields=fields,
            visible=visible,
            errors=bucket_errors("measures"),
            where=where,
        )
        if info is None:
            continue
        if info.kind not in NUMERIC:
            bucket_errors("measures").append(
                _("%(where)s: %(field)s is not a number.") % {"where": where, "field": info.label}
            )
            continue
        measures.append(Measure(agg, info))

    filters = []
    raw_filters = definition.get("filters") or []
    if not isinstance(raw_filters, list) or len(raw_filters) > MAX_FILTERS:
        bucket_errors("filters").append(_("Give at most %(n)s filters.") % {"n": MAX_FILTERS})
        raw_filters = []
    for i, raw in enumerate(raw_filters, 1):
        where = _("Filter %(n)s") % {"n": i}
        if not isinstance(raw, dict):
            bucket_errors("filters").append(_("%(where)s: not an object.") % {"where": where})
            continue
        info = _field(
            raw.get("field"),
            fields=fields,
            visible=visible,
            errors=bucket_errors("filters"),
            where=where,
        )
        if info is None:
            continue
        op, value = raw.get("op"), raw.get("value")
        if op not in OPS:
            bucket_errors("filters").append(
                _("%(where)s: the operator must be one of %(list)s.")
                % {"where": where, "list": ", ".join(OPS)}
            )
            continue
        try:
            if op == "isnull":
                clean = _coerce(
                    FieldInfo("", info.label, KIND_BOOL),
                    True if value in (None, "") else value,
                    where=where,
                )
            elif op == "in":
                items = value if isinstance(value, list) else str(value or "").split(",")
                items = [v for v in (str(x).strip() for x in items) if v]
                if not items:
                    raise ValidationError(_("%(where)s: give a value.") % {"where": where})
                clean = [_coerce(info, v, where=where) for v in items]
            else:
                if op in ("gt", "gte", "lt", "lte") and info.kind not in NUMERIC | DATES:
                    raise ValidationError(
                        _("%(where)s: %(field)s can't be compared by size.")
                        % {"where": where, "field": info.label}
                    )
                if op == "contains" and info.kind in NUMERIC | DATES | {KIND_BOOL, KIND_FK}:
                    raise ValidationError(
                        _('%(where)s: "contains" works on text only.') % {"where": where}
                    )
                clean = _coerce(info, value, where=where)
        except ValidationError as exc:
            bucket_errors("filters").extend(exc.messages)
            continue
        filters.append(Filter(info, op, clean, value))

    match = definition.get("match") or "all"
    if match not in ("all", "any"):
        bucket_errors("match").append(_('"match" must be "all" or "any".'))

    sort = definition.get("sort") or {}
    sort_by = sort.get("by") if isinstance(sort, dict) else None
    valid_keys = [f"d{i}" for i in range(len(dims))] + [f"m{i}" for i in range(len(measures))]
    if sort_by and sort_by not in valid_keys:
        bucket_errors("sort").append(
            _("Sort by one of %(list)s.") % {"list": ", ".join(valid_keys) or "-"}
        )
    if not sort_by:
        date_dim = dims and dims[0].info.kind in DATES
        sort_by = "d0" if date_dim else ("m0" if measures else "")
        sort_desc = not date_dim
    else:
        sort_desc = bool(sort.get("desc", True))

    limit = definition.get("limit")
    limit = DEFAULT_LIMIT if limit in (None, "") else limit
    try:
        limit = int(limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except (TypeError, ValueError):
        bucket_errors("limit").append(
            _("The limit is a number from 1 to %(n)s.") % {"n": MAX_LIMIT}
        )
        limit = DEFAULT_LIMIT

    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ServiceError(_("The report definition is not valid."), errors=errors)
    return BuilderQuery(spec, dims, measures, filters, match, sort_by, sort_desc, limit)


# --- expressions ----------------------------------------------------------------------------


def _custom_text(info: FieldInfo):
    return KeyTextTransform(info.custom_key, "custom")


def value_expression(info: FieldInfo):
    """The plain value of a field (for filters and measures)."""
    if not info.is_custom:
        return F(info.path)
    text = _custom_text(info)
    if info.kind in NUMERIC:
        return Cast(text, models.DecimalField(max_digits=30, decimal_places=6))
    if info.kind in DATES:
        return Cast(Substr(text, 1, 10), models.DateField())
    if info.kind == KIND_USER:
        return Cast(text, models.BigIntegerField())
    # A plain text expression: a bare key transform would JSON-encode the compared value.
    return Cast(text, models.TextField())


def _is_datetime(info: FieldInfo) -> bool:
    # Custom datetimes are bucketed by their date part (stored as ISO text).
    return info.kind == KIND_DATETIME and not info.is_custom


def dimension_expression(dim: Dimension):
    info = dim.info
    if dim.bucket:
        if _is_datetime(info):
            return Trunc(
                info.path,
                dim.bucket,
                output_field=models.DateTimeField(),
                tzinfo=timezone.get_current_timezone(),
            )
        return Trunc(value_expression(info), dim.bucket, output_field=models.DateField())
    return value_expression(info)


def _measure_expression(m: Measure):
    if m.agg == "count":
        return Count("pk")
    expr = value_expression(m.info)
    return {"sum": Sum, "avg": Avg, "min": Min, "max": Max}[m.agg](expr)


def _date_bounds(info: FieldInfo, value):
    """[start, end) of a filter value on a date field: a relative period or one day."""
    if isinstance(value, str):
        start, end = relative_range(value)
    else:
        start, end = value, value + dt.timedelta(days=1)
    if _is_datetime(info):
        return day_start(start), day_start(end)
    return start, end


def _filter_q(f: Filter, alias: str) -> Q:
    info, op, value = f.info, f.op, f.value
    target = alias
    if op == "isnull":
        empty = Q(**{f"{target}__isnull": True})
        if info.kind not in NUMERIC | DATES | {KIND_FK, KIND_USER, KIND_BOOL}:
            empty |= Q(**{target: ""})
        return empty if value else ~empty
    if info.kind in DATES and op != "in":
        start, end = _date_bounds(info, value)
        inside = Q(**{f"{target}__gte": start, f"{target}__lt": end})
        return {
            "eq": inside,
            "ne": ~inside,
            "gte": Q(**{f"{target}__gte": start}),
            "gt": Q(**{f"{target}__gte": end}),
            "lt": Q(**{f"{target}__lt": start}),
            "lte": Q(**{f"{target}__lt": end}),
            "contains": inside,
        }[op]
    if op == "in":
        if info.kind in DATES:
            q = Q(pk__in=[])
            for v in value:
                start, end = _date_bounds(info, v)
                q |= Q(**{f"{target}__gte": start, f"{target}__lt": end})
            return q
        return Q(**{f"{target}__in": value})
    if op == "contains":
        if info.kind == KIND_MULTI:
            return Q(**{f"{target}__contains": f'"{value}"'})
        return Q(**{f"{target}__icontains": value})
    if info.kind == KIND_MULTI and op in ("eq", "ne"):
        q = Q(**{f"{target}__contains": f'"{value}"'})
        return q if op == "eq" else ~q
    lookup = {"eq": "exact", "ne": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
    q = Q(**{f"{target}__{lookup[op]}": value})
    return ~q if op == "ne" else q


def filtered_queryset(query: BuilderQuery, user):
    """The source's visible rows narrowed by the definition's filters (no grouping yet)."""
    model = query.source.model
    qs = model.objects.visible_to(user).order_by()
    everything = [*query.filters, *query.extra_filters]
    if not everything:
        return qs
    aliases = {}
    for i, f in enumerate(everything):
        if f.info.is_custom:
            aliases[f"_f{i}"] = value_expression(f.info)
    if aliases:
        qs = qs.alias(**aliases)
    qs_parts = [
        _filter_q(f, f"_f{i}" if f.info.is_custom else f.info.path)
        for i, f in enumerate(everything)
    ]
    own, extra = qs_parts[: len(query.filters)], qs_parts[len(query.filters) :]
    combined = Q()
    if own:
        combined = own[0]
        for part in own[1:]:
            combined = combined & part if query.match == "all" else combined | part
    for part in extra:
        combined &= part
    return qs.filter(combined)


# --- running ---------------------------------------------------------------------------------


@dataclass
class BuilderResult:
    query: BuilderQuery
    rows: list[dict]  # {"d0": raw, "d0_label": str, "d0_key": str, "m0": value, …}
    total_groups: int
    capped: bool

    @property
    def columns(self) -> list[tuple[str, str, str]]:
        cols = [
            (f"d{i}_label", d.info.label + _bucket_suffix(d), "text")
            for i, d in enumerate(self.query.dimensions)
        ]
        for i, m in enumerate(self.query.measures):
            kind = (
                "int"
                if m.agg == "count" or (m.info and m.info.kind == KIND_INT and m.agg != "avg")
                else "number"
            )
            cols.append((f"m{i}", m.label(), kind))
        return cols


def _bucket_suffix(dim: Dimension) -> str:
    if not dim.bucket:
        return ""
    names = {
        "day": _("day"),
        "week": _("week"),
        "month": _("month"),
        "quarter": _("quarter"),
        "year": _("year"),
    }
    return f" ({names[dim.bucket]})"


def run_query(query: BuilderQuery, user) -> BuilderResult:
    qs = filtered_queryset(query, user)
    measures = {f"m{i}": _measure_expression(m) for i, m in enumerate(query.measures)}
    if not query.dimensions:
        row = qs.aggregate(**measures)
        return BuilderResult(query, [row], 1, False)
    dims = {f"d{i}": dimension_expression(d) for i, d in enumerate(query.dimensions)}
    grouped = qs.annotate(**dims).values(*dims).annotate(**measures)
    order = []
    if query.sort_by:
        order.append(f"-{query.sort_by}" if query.sort_desc else query.sort_by)
    order += [k for k in dims if k != query.sort_by]
    grouped = grouped.order_by(*order)
    rows = list(grouped[: query.limit + 1])
    capped = len(rows) > query.limit
    rows = rows[: query.limit]
    total = grouped.count() if capped else len(rows)
    _label_rows(query, rows)
    return BuilderResult(query, rows, total, capped)


def _bucket_label(bucket: str, value) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if bucket == "year":
        return f"{value:%Y}"
    if bucket == "quarter":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    if bucket == "month":
        return f"{value:%Y-%m}"
    if bucket == "week":
        iso = value.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    return value.isoformat()


def _label_rows(query: BuilderQuery, rows: list[dict]) -> None:
    for i, dim in enumerate(query.dimensions):
        key = f"d{i}"
        info = dim.info
        labels: dict = {}
        if info.kind in (KIND_FK, KIND_USER) and info.related_model is not None:
            ids = {r[key] for r in rows if r[key] is not None}
            labels = {pk: str(obj) for pk, obj in info.related_model.objects.in_bulk(ids).items()}
        choices = dict(info.choices)
        for row in rows:
            value = row[key]
            if value is None or value == "":
                label, raw = _("(empty)"), NULL
            elif dim.bucket:
                label = _bucket_label(dim.bucket, value)
                day = value
                if isinstance(day, dt.datetime):
                    day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
                raw = day.isoformat()
            elif info.kind in (KIND_FK, KIND_USER):
                label, raw = labels.get(value, str(value)), str(value)
            elif info.kind == KIND_CHOICE:
                label, raw = choices.get(str(value), str(value)), str(value)
            elif info.kind == KIND_BOOL:
                truthy = value in (True, "true", "True", 1, "1")
                label, raw = (_("Yes") if truthy else _("No")), ("true" if truthy else "false")
            else:
                label, raw = str(value), str(value)
            row[f"{key}_label"] = label
            row[f"{key}_key"] = raw


# --- drill-down ------------------------------------------------------------------------------


def _next_bucket(bucket: str, start: dt.date) -> dt.date:
    if bucket == "day":
        return start + dt.timedelta(days=1)
    if bucket == "week":
        return start + dt.timedelta(days=7)
    if bucket == "month":
        return add_months(start, 1)
    if bucket == "quarter":
        return add_months(start, 3)
    return dt.date(start.year + 1, 1, 1)


def drill_queryset(query: BuilderQuery, user, keys: list[str]):
    """The records behind one group (`keys` = the row's d0_key, d1_key …), same filters."""
    if len(keys) != len(query.dimensions):
        raise ServiceError(_("Give one value per dimension."), field="keys")
    qs = filtered_queryset(query, user)
    aliases, conditions = {}, Q()
    for i, (dim, key) in enumerate(zip(query.dimensions, keys, strict=True)):
        info = dim.info
        alias = f"_d{i}"
        aliases[alias] = value_expression(info)
        if key == NULL:
            empty = Q(**{f"{alias}__isnull": True})
            if info.kind not in NUMERIC | DATES | {KIND_FK, KIND_USER, KIND_BOOL}:
                empty |= Q(**{alias: ""})
            conditions &= empty
            continue
        try:
            if dim.bucket:
                start = dt.date.fromisoformat(key)
                end = _next_bucket(dim.bucket, start)
                if _is_datetime(info):
                    start, end = day_start(start), day_start(end)
                conditions &= Q(**{f"{alias}__gte": start, f"{alias}__lt": end})
            elif info.kind == KIND_BOOL:
                truthy = key == "true"
                if info.is_custom:  # JSON true/false reads back as "true" (PG) or 1 (SQLite)
                    values = ["true", "True", "1"] if truthy else ["false", "False", "0"]
                    conditions &= Q(**{f"{alias}__in": values})
                else:
                    conditions &= Q(**{alias: truthy})
            else:
                value = (
                    _coerce(info, key, where=_("Drill-down")) if info.kind != KIND_CHOICE else key
                )
                conditions &= Q(**{alias: value})
        except (ValueError, ValidationError):
            raise ServiceError(_("Not a value of this report."), field="keys") from None
    return qs.alias(**aliases).filter(conditions)


def drill_columns(query: BuilderQuery) -> list[FieldInfo]:
    """Fields shown in the drill-down list: the dimensions, then the measured fields."""
    seen, out = set(), []
    for info in [d.info for d in query.dimensions] + [m.info for m in query.measures if m.info]:
        if info.path not in seen:
            seen.add(info.path)
            out.append(info)
    return out
