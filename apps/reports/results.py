"""The shape every report returns: sections of columns, rows and a chart description.

A page renders it (table + ECharts), the API serialises it (`as_json`) and the export writes
it (`apps.reports.exports`), so the three always show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

KINDS = ("text", "int", "money", "number", "percent", "hours")


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # one of KINDS: how the value is formatted and exported
    # (model, field name) pairs the column is computed from: hidden by field security when the
    # user may not see any of them.
    secured: tuple = ()


@dataclass
class Chart:
    """What to draw: `type` (bar, stacked_bar, line, pie, funnel, number, table), the category
    column and the value columns drawn as series."""

    type: str = "bar"
    category: str = ""
    series: list[str] = field(default_factory=list)
    horizontal: bool = False
    # Two dimensions: one series per value of the `pivot` column, drawing `series[0]`.
    pivot: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    chart: Chart | None = None
    totals: dict | None = None
    notes: list[str] = field(default_factory=list)

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def drop_columns(self, keys: set[str]) -> None:
        self.columns = [c for c in self.columns if c.key not in keys]
        for row in self.rows:
            for key in keys:
                row.pop(key, None)
        if self.totals:
            for key in keys:
                self.totals.pop(key, None)
        if self.chart:
            self.chart.series = [s for s in self.chart.series if s not in keys]
            if not self.chart.series and self.chart.type != "table":
                self.chart = None


@dataclass
class ReportResult:
    key: str
    title: str
    sections: list[Section]
    params: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "report": self.key,
            "title": str(self.title),
            "params": self.params,
            "notes": [str(n) for n in self.notes],
            "sections": [section_json(s) for s in self.sections],
        }


def plain(value, kind: str = "text"):
    """A JSON-safe value: money and numbers as JSON numbers rounded to two places."""
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return round(value, 2)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def section_json(section: Section) -> dict:
    """One section in the API's shape: columns, rows, totals and the chart's series."""
    out = {
        "key": section.key,
        "title": str(section.title),
        "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in section.columns],
        "rows": [
            {c.key: plain(row.get(c.key), c.kind) for c in section.columns} for row in section.rows
        ],
        "totals": (
            {k: plain(v) for k, v in section.totals.items() if k in section.column_keys()}
            if section.totals
            else None
        ),
        "notes": [str(n) for n in section.notes],
    }
    chart = section.chart
    out["chart"], out["categories"], out["series"] = None, [], []
    if chart and chart.pivot and chart.series:
        out["chart"] = {"type": chart.type, "horizontal": chart.horizontal}
        cats = list(dict.fromkeys(_category(r.get(chart.category)) for r in section.rows))
        names = list(dict.fromkeys(_category(r.get(chart.pivot)) for r in section.rows))
        cells = {
            (_category(r.get(chart.category)), _category(r.get(chart.pivot))): r
            for r in section.rows
        }
        value = chart.series[0]
        out["categories"] = cats
        out["series"] = [
            {
                "key": value,
                "name": name,
                "data": [plain((cells.get((c, name)) or {}).get(value)) for c in cats],
                "drill": [(cells.get((c, name)) or {}).get("_drill") for c in cats],
            }
            for name in names
        ]
    elif chart:
        labels = {c.key: str(c.label) for c in section.columns}
        out["chart"] = {"type": chart.type, "horizontal": chart.horizontal}
        out["categories"] = [_category(row.get(chart.category)) for row in section.rows]
        out["series"] = [
            {
                "key": key,
                "name": labels.get(key, key),
                "data": [plain(row.get(key)) for row in section.rows],
                "drill": [row.get("_drill") for row in section.rows],
            }
            for key in chart.series
        ]
    return out


def _category(value) -> str:
    return "" if value is None else str(value)


def apply_field_security(result: ReportResult, user) -> ReportResult:
    """Remove every column computed from a field the user may not see (DESIGN §4.1)."""
    from django.utils.translation import gettext as _

    from apps.org.fields import field_access

    cache: dict = {}

    def visible(model, name) -> bool:
        if model not in cache:
            cache[model] = field_access(user, model)
        return cache[model].can_view(name)

    hidden_any = False
    kept = []
    for section in result.sections:
        hidden = {c.key for c in section.columns if any(not visible(m, f) for m, f in c.secured)}
        if hidden:
            hidden_any = True
            if section.columns and section.columns[0].key in hidden:
                continue  # grouped by a hidden field: its labels are the field's values
            section.drop_columns(hidden)
        kept.append(section)
    result.sections = kept
    if hidden_any:
        result.notes.append(_("Some columns are hidden because you may not see their fields."))
    return result
