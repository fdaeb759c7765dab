"""A builder result as a `ReportResult` (page, API, export and dashboards share it)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext as _

from ..results import Chart, Column, ReportResult, Section
from .query import BuilderResult


def builder_report(
    result: BuilderResult, *, title: str, chart: str, key: str = "custom", drill_base: str = ""
) -> ReportResult:
    """`drill_base`: URL the drill-down links start with (the keys are appended)."""
    query = result.query
    columns = [Column(k, label, kind) for k, label, kind in result.columns]
    rows = []
    for row in result.rows:
        out = {c.key: row.get(c.key) for c in columns}
        keys = [row.get(f"d{i}_key") for i in range(len(query.dimensions))]
        if drill_base and query.dimensions:
            sep = "&" if "?" in drill_base else "?"
            out["_drill"] = drill_base + sep + urlencode([("k", k) for k in keys])
        rows.append(out)
    measure_keys = [f"m{i}" for i in range(len(query.measures))]
    if not query.dimensions or chart == "number":
        chart_spec = Chart("number", "", measure_keys[:1])
    elif chart == "table":
        chart_spec = None
    elif len(query.dimensions) == 2:
        chart_type = chart if chart in ("bar", "stacked_bar", "line") else "stacked_bar"
        chart_spec = Chart(chart_type, "d0_label", measure_keys[:1], pivot="d1_label")
    else:
        chart_spec = Chart(
            chart, "d0_label", measure_keys if chart not in ("pie", "funnel") else measure_keys[:1]
        )
    notes = []
    if result.capped:
        notes.append(
            _(
                "Showing the first %(shown)s of %(total)s groups (the report's limit). Narrow the "
                "filters or raise the limit to see the rest; totals cover the shown groups only."
            )
            % {"shown": len(rows), "total": result.total_groups}
        )
    totals = None
    if query.dimensions and rows:
        totals = {columns[0].key: _("Total")}
        for i, m in enumerate(query.measures):
            if m.agg in ("count", "sum"):
                totals[f"m{i}"] = sum((r.get(f"m{i}") or 0) for r in rows)
    section = Section("data", title, columns, rows, chart_spec, totals, notes)
    return ReportResult(key, title, [section], notes=list(notes))
