"""Report pages: the index, built-in reports, the builder, saved reports, dashboards, targets."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.org.errors import ServiceError

from . import selectors, services
from .builder.present import builder_report
from .builder.query import (
    BuilderQuery,
    drill_columns,
    drill_queryset,
    parse_definition,
    run_query,
)
from .builder.registry import get_source, sources_for, visible_fields
from .builtin import builtins_for, get_builtin
from .builtin.drill import DrillError, add_drill_links, drill_list
from .exports import xlsx_response
from .forms import (
    BuilderForm,
    DashboardForm,
    DashboardItemForm,
    SaveReportForm,
    ShareForm,
    TargetForm,
    definition_json,
    initial_from_definition,
)
from .models import DashboardItem, ReportEvent, SavedReport
from .params import ReportParamsForm
from .results import ReportResult, section_json

DRILL_PAGE = 50


def _format(value, kind: str) -> str:
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "text" or isinstance(value, str):
        return str(value)
    if kind == "int":
        return number_format(value, 0, force_grouping=True)
    text = number_format(value, 2, force_grouping=True)
    return f"{text}%" if kind == "percent" else text


def _sections(result: ReportResult, prefix: str = "chart") -> list[dict]:
    """Sections with their JSON (for the chart script) and their formatted table cells."""
    out = []
    for n, section in enumerate(result.sections):
        data = section_json(section)
        rows = [
            {
                "cells": [
                    {"text": _format(row.get(c.key), c.kind), "kind": c.kind}
                    for c in section.columns
                ],
                "drill": row.get("_drill"),
            }
            for row in section.rows
        ]
        totals = None
        if section.totals:
            totals = [
                {"text": _format(section.totals.get(c.key), c.kind), "kind": c.kind}
                for c in section.columns
            ]
        dom_id = f"{prefix}-{section.key}-{n}"
        out.append(
            {
                "section": section,
                "json": data,
                "dom_id": dom_id,
                "json_id": f"{dom_id}-data",
                "rows": rows,
                "totals": totals,
            }
        )
    return out


@login_required
def index(request):
    return render(
        request,
        "reports/index.html",
        {
            "builtins": builtins_for(request.user),
            "saved": selectors.saved_reports_for(request.user),
            "dashboards": selectors.dashboards_for(request.user),
            "can_build": bool(sources_for(request.user)),
        },
    )


def _builtin_or_404(request, key):
    report = get_builtin(key)
    if report is None:
        raise Http404
    if not report.allowed(request.user):
        raise PermissionDenied
    return report


@login_required
def builtin(request, key):
    report = _builtin_or_404(request, key)
    form = ReportParamsForm(request.GET or None, default_period=report.default_period)
    result = None
    if not request.GET or form.is_valid():
        if not request.GET:
            form = ReportParamsForm({}, default_period=report.default_period)
            form.is_valid()
        params = form.params()
        result = add_drill_links(report.result(request.user, params), params)
        export_query = urlencode(params.as_query())
    else:
        export_query = ""
    return render(
        request,
        "reports/builtin.html",
        {
            "report": report,
            "form": form,
            "result": result,
            "sections": _sections(result) if result else [],
            "export_query": export_query,
            "params": report.params,
        },
    )


@login_required
def builtin_drill(request, key):
    """The records behind one row of a built-in report (same scope and filters)."""
    report = _builtin_or_404(request, key)
    form = ReportParamsForm(request.GET, default_period=report.default_period)
    if not form.is_valid():
        raise Http404
    params = form.params()
    try:
        found = drill_list(
            key, request.user, params, request.GET.get("section", ""), request.GET.get("k", "")
        )
    except DrillError as exc:
        raise Http404 from exc
    page = Paginator(found.records, DRILL_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"obj": obj, "cells": [c.get(obj) for c in found.columns], "url": _url(obj)}
        for obj in page.object_list
    ]
    return render(
        request,
        "reports/drill.html",
        {
            "title": f"{report.title} · {found.title}",
            "columns": found.columns,
            "rows": rows,
            "page": page,
            "back": reverse("reports:builtin", args=[key]) + "?" + urlencode(params.as_query()),
            "query_string": request.GET.copy(),
        },
    )


@login_required
def builtin_export(request, key):
    report = _builtin_or_404(request, key)
    form = ReportParamsForm(request.GET, default_period=report.default_period)
    if not form.is_valid():
        messages.error(request, _("The report's filters are not valid."))
        return redirect("reports:builtin", key=key)
    result = report.result(request.user, form.params())
    services._event(ReportEvent.Kind.EXPORTED, request.user, report_key=key)
    return xlsx_response(result, key)


# --- builder ---------------------------------------------------------------------------------


def _builder_form(request, data, *, initial=None):
    sources = sources_for(request.user)
    if not sources:
        raise PermissionDenied
    key = (data or {}).get("source") or (initial or {}).get("source") or sources[0].key
    spec = get_source(key) if key in {s.key for s in sources} else sources[0]
    fields = visible_fields(spec, request.user)
    form = BuilderForm(data, initial=initial, sources=sources, fields=fields)
    return form, spec


def _run_builder(request, form):
    """(query, result, errors) of a bound builder form."""
    if not form.is_valid():
        return None, None, {k: [str(m) for m in v] for k, v in form.errors.items()}
    try:
        query = parse_definition(form.cleaned_data["source"], form.definition(), request.user)
    except ServiceError as exc:
        return None, None, exc.errors
    return query, run_query(query, request.user), {}


@login_required
def builder(request):
    run = "source" in request.GET
    form, spec = _builder_form(request, request.GET if run else None)
    query = result = None
    errors: dict = {}
    sections = []
    if run:
        query, raw, errors = _run_builder(request, form)
        if query is not None:
            chart = form.cleaned_data.get("chart") or "bar"
            drill = (
                reverse("reports:builder-drill")
                + "?"
                + urlencode(
                    {"source": query.source.key, "definition": definition_json(query.definition())}
                )
            )
            result = builder_report(raw, title=_("Preview"), chart=chart, drill_base=drill)
            sections = _sections(result)
    save_form = SaveReportForm()
    return render(
        request,
        "reports/builder.html",
        {
            "form": form,
            "spec": spec,
            "fields": visible_fields(spec, request.user),
            "errors": errors,
            "result": result,
            "sections": sections,
            "save_form": save_form,
            "query_string": request.GET.urlencode(),
            "can_save": request.user.has_perm("reports.add_savedreport"),
        },
    )


@login_required
@require_POST
def builder_save(request):
    """Save the builder's current definition (its query string is posted back)."""
    data = QueryDict(request.POST.get("query", ""))
    form, _spec = _builder_form(request, data)
    save = SaveReportForm(request.POST)
    if not form.is_valid() or not save.is_valid():
        messages.error(request, _("The report could not be saved: check its name and settings."))
        return redirect(reverse("reports:builder") + "?" + data.urlencode())
    try:
        report = services.saved_report_create(
            by=request.user,
            name=save.cleaned_data["name"],
            description=save.cleaned_data["description"],
            source=form.cleaned_data["source"],
            definition=form.definition(),
            chart=form.cleaned_data.get("chart") or "bar",
        )
    except ServiceError as exc:
        for field, errs in exc.errors.items():
            for e in errs:
                messages.error(request, f"{field}: {e}")
        return redirect(reverse("reports:builder") + "?" + data.urlencode())
    messages.success(request, _("The report was saved."))
    return redirect(report)


def _drill(request, query: BuilderQuery, title: str, back: str):
    keys = request.GET.getlist("k")
    try:
        qs = drill_queryset(query, request.user, keys)
    except ServiceError as exc:
        raise Http404 from exc
    columns = drill_columns(query)
    model = query.source.model
    related = [c.path.split("__")[0] for c in columns if c.related_model and not c.is_custom]
    rel_fk = [name for name in dict.fromkeys(related) if model._meta.get_field(name).many_to_one]
    qs = qs.select_related(*rel_fk).order_by("-pk")
    page = Paginator(qs, DRILL_PAGE).get_page(request.GET.get("page"))
    rows = []
    for obj in page.object_list:
        cells = []
        for info in columns:
            if info.is_custom:
                cells.append((obj.custom or {}).get(info.custom_key))
                continue
            value = obj
            for part in info.path.split("__"):
                value = getattr(value, part, None) if value is not None else None
            if info.choices and value is not None:
                value = dict(info.choices).get(str(value), value)
            cells.append(value)
        rows.append({"obj": obj, "cells": cells, "url": _url(obj)})
    return render(
        request,
        "reports/drill.html",
        {
            "title": title,
            "columns": columns,
            "rows": rows,
            "page": page,
            "back": back,
            "query_string": request.GET.copy(),
        },
    )


def _url(obj) -> str:
    getter = getattr(obj, "get_absolute_url", None)
    try:
        return getter() if getter else ""
    except Exception:  # noqa: BLE001 - a page not wired yet must not break the list
        return ""


@login_required
def builder_drill(request):
    try:
        definition = json.loads(request.GET.get("definition") or "{}")
        query = parse_definition(request.GET.get("source"), definition, request.user)
    except (ValueError, ServiceError) as exc:
        raise Http404 from exc
    return _drill(request, query, _("Records behind the chart"), reverse("reports:builder"))


# --- saved reports ---------------------------------------------------------------------------


def _saved(request, pk) -> SavedReport:
    return get_object_or_404(selectors.saved_reports_for(request.user), pk=pk)


def _saved_result(request, report: SavedReport):
    query = parse_definition(report.source, report.definition, request.user)
    raw = run_query(query, request.user)
    drill = reverse("reports:saved-drill", args=[report.pk])
    return query, builder_report(raw, title=report.name, chart=report.chart, drill_base=drill)


@login_required
def saved_detail(request, pk):
    report = _saved(request, pk)
    error = None
    result = None
    try:
        _query, result = _saved_result(request, report)
    except ServiceError as exc:
        # The definition no longer fits this user (a field became restricted, the source
        # permission was withdrawn): say so instead of showing a partial report.
        error = "; ".join(m for msgs in exc.errors.values() for m in msgs)
    return render(
        request,
        "reports/saved_detail.html",
        {
            "report": report,
            "result": result,
            "sections": _sections(result) if result else [],
            "error": error,
            "can_edit": selectors.can_edit(request.user, report),
            "edit_query": urlencode(
                initial_from_definition(report.source, report.definition, report.chart),
                doseq=True,
            ),
        },
    )


@login_required
def saved_export(request, pk):
    report = _saved(request, pk)
    try:
        _query, result = _saved_result(request, report)
    except ServiceError as exc:
        raise PermissionDenied from exc
    services._event(ReportEvent.Kind.EXPORTED, request.user, report=report)
    return xlsx_response(result, f"report-{report.pk}")


@login_required
def saved_drill(request, pk):
    report = _saved(request, pk)
    try:
        query = parse_definition(report.source, report.definition, request.user)
    except ServiceError as exc:
        raise PermissionDenied from exc
    if any(request.GET.get(k) for k in ("period", "date_from", "date_to", "department")):
        # opened from a dashboard widget: the dashboard's filters, as on the widget
        form = ReportParamsForm(request.GET)
        if not form.is_valid():
            raise Http404
        query = _with_dashboard_filters(query, form.params(), request.user)
    return _drill(request, query, report.name, report.get_absolute_url())


@login_required
def saved_edit(request, pk):
    """Replace the definition of a saved report with the builder's current one (POST)."""
    report = _saved(request, pk)
    if not selectors.can_edit(request.user, report):
        raise PermissionDenied
    if request.method != "POST":
        return redirect(
            reverse("reports:builder")
            + "?"
            + urlencode(
                initial_from_definition(report.source, report.definition, report.chart), doseq=True
            )
            + f"&report={report.pk}"
        )
    data = QueryDict(request.POST.get("query", ""))
    form, _spec = _builder_form(request, data)
    if not form.is_valid():
        messages.error(request, _("The report could not be saved."))
        return redirect(report)
    try:
        services.saved_report_update(
            report=report,
            by=request.user,
            source=form.cleaned_data["source"],
            definition=form.definition(),
            chart=form.cleaned_data.get("chart") or report.chart,
            **({"name": request.POST["name"]} if request.POST.get("name") else {}),
        )
    except ServiceError as exc:
        messages.error(request, "; ".join(m for msgs in exc.errors.values() for m in msgs))
        return redirect(report)
    messages.success(request, _("The report was saved."))
    return redirect(report)


@login_required
def saved_share(request, pk):
    report = _saved(request, pk)
    if not selectors.can_edit(request.user, report):
        raise PermissionDenied
    form = ShareForm(
        request.POST or None,
        initial={"users": report.shared_users.all(), "roles": report.shared_roles.all()},
    )
    if request.method == "POST" and form.is_valid():
        services.saved_report_share(
            report=report,
            by=request.user,
            users=list(form.cleaned_data["users"]),
            roles=list(form.cleaned_data["roles"]),
        )
        messages.success(request, _("Sharing was saved."))
        return redirect(report)
    return render(
        request,
        "reports/form.html",
        {
            "form": form,
            "title": _("Share %(name)s") % {"name": report.name},
            "back": report.get_absolute_url(),
        },
    )


@login_required
@require_POST
def saved_delete(request, pk):
    report = _saved(request, pk)
    try:
        services.saved_report_delete(report=report, by=request.user)
    except ServiceError as exc:
        raise PermissionDenied from exc
    messages.success(request, _("The report was deleted."))
    return redirect("reports:index")


# --- dashboards ------------------------------------------------------------------------------


@login_required
def dashboard_home(request):
    board = services.dashboard_home(user=request.user)
    return redirect(board)


@login_required
def dashboard_new(request):
    if not request.user.has_perm("reports.share_dashboard"):
        raise PermissionDenied
    form = DashboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        board = services.dashboard_create(
            by=request.user,
            name=form.cleaned_data["name"],
            users=list(form.cleaned_data["users"]),
            roles=list(form.cleaned_data["roles"]),
        )
        return redirect(board)
    return render(
        request,
        "reports/form.html",
        {"form": form, "title": _("New shared dashboard"), "back": reverse("reports:index")},
    )


@login_required
def dashboard_edit(request, pk):
    board = get_object_or_404(selectors.dashboards_for(request.user), pk=pk)
    if not selectors.can_edit(request.user, board):
        raise PermissionDenied
    form = DashboardForm(
        request.POST or None,
        initial={
            "name": board.name,
            "users": board.shared_users.all(),
            "roles": board.shared_roles.all(),
        },
    )
    if board.is_home:
        del form.fields["users"], form.fields["roles"]
    if request.method == "POST" and form.is_valid():
        services.dashboard_update(
            dashboard=board,
            by=request.user,
            name=form.cleaned_data["name"],
            users=None if board.is_home else list(form.cleaned_data["users"]),
            roles=None if board.is_home else list(form.cleaned_data["roles"]),
        )
        return redirect(board)
    return render(
        request,
        "reports/form.html",
        {"form": form, "title": board.name, "back": board.get_absolute_url()},
    )


@login_required
def dashboard(request, pk):
    board = get_object_or_404(selectors.dashboards_for(request.user), pk=pk)
    items = list(board.items.select_related("saved_report").order_by("position", "id"))
    editable = selectors.can_edit(request.user, board)
    form = ReportParamsForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    add_form = None
    if editable:
        add_form = DashboardItemForm(
            builtins=builtins_for(request.user), saved=selectors.saved_reports_for(request.user)
        )
    widget_query = request.GET.urlencode() if valid else ""
    for item in items:
        item.widget_url = (
            reverse("reports:widget")
            + "?"
            + urlencode({"item": item.pk})
            + ("&" + widget_query if widget_query else "")
        )
        item.label = item.title or (
            item.saved_report.name
            if item.saved_report
            else getattr(get_builtin(item.builtin), "title", item.builtin)
        )
    return render(
        request,
        "reports/dashboard.html",
        {
            "board": board,
            "items": items,
            "editable": editable,
            "form": form,
            "add_form": add_form,
            "boards": selectors.dashboards_for(request.user),
            "widths": DashboardItem.Width.choices,
        },
    )


@login_required
@require_POST
def dashboard_add(request, pk):
    board = get_object_or_404(selectors.dashboards_for(request.user), pk=pk)
    form = DashboardItemForm(
        request.POST,
        builtins=builtins_for(request.user),
        saved=selectors.saved_reports_for(request.user),
    )
    if form.is_valid():
        kind, _sep, ref = form.cleaned_data["report"].partition(":")
        saved = None
        if kind == "saved":
            saved = selectors.saved_reports_for(request.user).filter(pk=ref).first()
        try:
            services.dashboard_add_item(
                dashboard=board,
                by=request.user,
                builtin=ref if kind == "builtin" else "",
                saved_report=saved,
                width=form.cleaned_data["width"],
                title=form.cleaned_data["title"],
            )
        except ServiceError as exc:
            messages.error(request, "; ".join(m for v in exc.errors.values() for m in v))
    else:
        messages.error(request, _("Choose a report and a width."))
    return redirect(board)


@login_required
@require_POST
def dashboard_item(request, pk, action):
    item = get_object_or_404(
        DashboardItem.objects.filter(dashboard__in=selectors.dashboards_for(request.user)), pk=pk
    )
    try:
        width = int(request.POST.get("width") or 0)
    except ValueError:
        width = 0
    try:
        services.dashboard_change_item(item=item, by=request.user, action=action, width=width)
    except ServiceError as exc:
        messages.error(request, "; ".join(m for v in exc.errors.values() for m in v))
    return redirect(item.dashboard)


@login_required
@require_POST
def dashboard_delete(request, pk):
    board = get_object_or_404(selectors.dashboards_for(request.user), pk=pk)
    try:
        services.dashboard_delete(dashboard=board, by=request.user)
    except ServiceError as exc:
        raise PermissionDenied from exc
    messages.success(request, _("The dashboard was deleted."))
    return redirect("reports:index")


@login_required
def widget(request):
    """One dashboard widget (htmx fragment): a built-in report's first section or a saved
    report, with the dashboard's period and department filters."""
    form = ReportParamsForm(request.GET)
    if not form.is_valid():
        form = ReportParamsForm({})
        form.is_valid()
    params = form.params()
    item = None
    if request.GET.get("item"):
        item = get_object_or_404(
            DashboardItem.objects.filter(
                dashboard__in=selectors.dashboards_for(request.user)
            ).select_related("saved_report"),
            pk=request.GET["item"],
        )
        key, saved = item.builtin, item.saved_report
    else:
        key, saved = request.GET.get("builtin", ""), None
    context = {"item": item, "error": None, "sections": [], "link": ""}
    if saved is not None:
        if not selectors.saved_reports_for(request.user).filter(pk=saved.pk).exists():
            context["error"] = _("This report is not shared with you.")
        else:
            try:
                query = parse_definition(saved.source, saved.definition, request.user)
                query = _with_dashboard_filters(query, params, request.user)
                raw = run_query(query, request.user)
                drill_params = urlencode(params.as_query())
                result = builder_report(
                    raw,
                    title=saved.name,
                    chart=saved.chart,
                    drill_base=reverse("reports:saved-drill", args=[saved.pk])
                    + ("?" + drill_params if drill_params else ""),
                )
                context["sections"] = _sections(result, f"w{item.pk if item else 0}")[:1]
                context["link"] = saved.get_absolute_url()
            except ServiceError as exc:
                context["error"] = "; ".join(m for v in exc.errors.values() for m in v)
    else:
        report = get_builtin(key)
        if report is None or not report.allowed(request.user):
            context["error"] = _("You may not open this report.")
        else:
            if not request.GET.get("period") and not request.GET.get("date_from"):
                form = ReportParamsForm(
                    {k: v for k, v in request.GET.items() if k != "item"},
                    default_period=report.default_period,
                )
                form.is_valid()
                params = form.params()
            result = add_drill_links(report.result(request.user, params), params)
            prefix = f"w{item.pk}" if item else f"wb-{key}"
            context["sections"] = _sections(result, prefix)[:1]
            context["link"] = (
                reverse("reports:builtin", args=[key]) + "?" + urlencode(params.as_query())
            )
    return render(request, "reports/_widget.html", context)


def _with_dashboard_filters(query: BuilderQuery, params, user) -> BuilderQuery:
    """Add the dashboard's period (on the source's main date) and department to a saved
    report — only through fields the user may see."""
    from .builder.query import Filter

    fields = visible_fields(query.source, user)
    extra = []
    date_info = fields.get(query.source.default_date)
    if date_info and (params.start or params.end):
        import datetime as dt

        if params.start:
            extra.append(Filter(date_info, "gte", params.start, params.start.isoformat()))
        if params.end:
            last = params.end - dt.timedelta(days=1)
            extra.append(Filter(date_info, "lte", last, last.isoformat()))
    dept = fields.get(query.source.department_path)
    if dept and params.department is not None:
        extra.append(Filter(dept, "in", params.department_ids, params.department_ids))
    # All of the dashboard's filters and — "all" or "any", as saved — the report's own.
    query.extra_filters = extra
    return query


# --- sales targets ---------------------------------------------------------------------------


@login_required
def targets(request):
    allowed = selectors.managed_department_ids(request.user)
    if allowed is not None and not allowed:
        raise PermissionDenied
    form = TargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.target_set(
                by=request.user,
                user=data.get("user"),
                department=data.get("department"),
                month=data["month"],
                amount=data["amount"],
                note=data.get("note") or "",
            )
        except ServiceError as exc:
            form.add_error(None, "; ".join(m for v in exc.errors.values() for m in v))
        else:
            messages.success(request, _("The target was saved."))
            return redirect("reports:targets")
    rows = Paginator(selectors.targets_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "reports/targets.html", {"form": form, "page": rows})


@login_required
@require_POST
def target_delete(request, pk):
    target = get_object_or_404(selectors.targets_for(request.user), pk=pk)
    try:
        services.target_delete(target=target, by=request.user)
    except ServiceError as exc:
        raise PermissionDenied from exc
    messages.success(request, _("The target was deleted."))
    return redirect("reports:targets")
