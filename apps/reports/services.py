"""Writes of the reports app: saved reports, sharing, dashboards and sales targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError

from .builder.query import CHARTS, parse_definition
from .builtin import get_builtin
from .models import Dashboard, DashboardItem, ReportEvent, SalesTarget, SavedReport
from .selectors import can_edit, managed_department_ids, saved_reports_for


def _event(kind, by, *, report=None, dashboard=None, **payload) -> None:
    ReportEvent.objects.create(
        kind=kind, actor=by, report=report, dashboard=dashboard, payload=payload
    )


def _check_chart(chart: str) -> None:
    if chart not in CHARTS:
        raise ServiceError(
            _("The chart must be one of %(list)s.") % {"list": ", ".join(CHARTS)}, field="chart"
        )


def _clean_name(name) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the report a name."), field="name")
    return name[:200]


@transaction.atomic
def saved_report_create(
    *, by, name: str, source: str, definition: dict, chart: str = "bar", description: str = ""
) -> SavedReport:
    """Validate the definition for `by` (scope, field security) and save it."""
    if not by.has_perm("reports.add_savedreport"):
        raise ServiceError(_("You may not save reports."))
    _check_chart(chart)
    query = parse_definition(source, definition, by)
    report = SavedReport.objects.create(
        name=_clean_name(name),
        description=(description or "")[:500],
        source=source,
        definition=query.definition(),
        chart=chart,
        owner=by,
    )
    _event(ReportEvent.Kind.REPORT_SAVED, by, report=report, created=True)
    return report


@transaction.atomic
def saved_report_update(*, report: SavedReport, by, **changes) -> SavedReport:
    report = SavedReport.objects.select_for_update().get(pk=report.pk)
    if not can_edit(by, report):
        raise ServiceError(_("Only the owner may change this report."))
    fields = []
    if "name" in changes:
        report.name = _clean_name(changes["name"])
        fields.append("name")
    if "description" in changes:
        report.description = (changes["description"] or "")[:500]
        fields.append("description")
    if "chart" in changes:
        _check_chart(changes["chart"])
        report.chart = changes["chart"]
        fields.append("chart")
    if "source" in changes or "definition" in changes:
        source = changes.get("source", report.source)
        query = parse_definition(source, changes.get("definition", report.definition), by)
        report.source, report.definition = source, query.definition()
        fields += ["source", "definition"]
    if fields:
        report.save(update_fields=[*fields, "updated_at"])
        _event(ReportEvent.Kind.REPORT_SAVED, by, report=report, fields=fields)
    return report


@transaction.atomic
def saved_report_share(*, report: SavedReport, by, users=(), roles=()) -> SavedReport:
    """Replace the people and roles the report is shared with."""
    if not can_edit(by, report):
        raise ServiceError(_("Only the owner may share this report."))
    report.shared_users.set(users)
    report.shared_roles.set(roles)
    _event(
        ReportEvent.Kind.REPORT_SHARED,
        by,
        report=report,
        users=sorted(u.pk for u in users),
        roles=sorted(r.pk for r in roles),
    )
    return report


@transaction.atomic
def saved_report_delete(*, report: SavedReport, by) -> None:
    if not can_edit(by, report):
        raise ServiceError(_("Only the owner may delete this report."))
    _event(ReportEvent.Kind.REPORT_DELETED, by, name=report.name, id=report.pk)
    report.delete()


# --- dashboards ------------------------------------------------------------------------------

HOME_DEFAULTS = [("funnel", 6), ("leaderboard", 6), ("payment-forecast", 12)]


@transaction.atomic
def dashboard_home(*, user) -> Dashboard:
    """The user's home dashboard, created with the built-ins they may open on first use."""
    found = Dashboard.objects.select_for_update().filter(owner=user, is_home=True).first()
    if found:
        return found
    board = Dashboard.objects.create(name=_("My dashboard"), owner=user, is_home=True)
    position = 0
    for key, width in HOME_DEFAULTS:
        report = get_builtin(key)
        if report and report.allowed(user):
            DashboardItem.objects.create(
                dashboard=board, builtin=key, width=width, position=position
            )
            position += 1
    _event(ReportEvent.Kind.DASHBOARD_CHANGED, user, dashboard=board, created=True)
    return board


@transaction.atomic
def dashboard_create(*, by, name: str, users=(), roles=()) -> Dashboard:
    """A shared dashboard (managers: `reports.share_dashboard`)."""
    if not by.has_perm("reports.share_dashboard"):
        raise ServiceError(_("You may not build shared dashboards."))
    board = Dashboard.objects.create(name=_clean_name(name), owner=by)
    board.shared_users.set(users)
    board.shared_roles.set(roles)
    _event(ReportEvent.Kind.DASHBOARD_CHANGED, by, dashboard=board, created=True)
    return board


def _editable(board: Dashboard, by) -> Dashboard:
    board = Dashboard.objects.select_for_update().get(pk=board.pk)
    if not can_edit(by, board):
        raise ServiceError(_("Only the owner may change this dashboard."))
    return board


@transaction.atomic
def dashboard_update(*, dashboard: Dashboard, by, name=None, users=None, roles=None) -> Dashboard:
    board = _editable(dashboard, by)
    if name is not None:
        board.name = _clean_name(name)
        board.save(update_fields=["name", "updated_at"])
    if (users is not None or roles is not None) and board.is_home:
        raise ServiceError(_("A home dashboard is personal; build a shared one instead."))
    if users is not None:
        board.shared_users.set(users)
    if roles is not None:
        board.shared_roles.set(roles)
    _event(ReportEvent.Kind.DASHBOARD_CHANGED, by, dashboard=board, updated=True)
    return board


@transaction.atomic
def dashboard_delete(*, dashboard: Dashboard, by) -> None:
    board = _editable(dashboard, by)
    _event(ReportEvent.Kind.DASHBOARD_DELETED, by, name=board.name, id=board.pk)
    board.delete()


@transaction.atomic
def dashboard_add_item(
    *, dashboard: Dashboard, by, builtin: str = "", saved_report=None, width: int = 6, title=""
) -> DashboardItem:
    board = _editable(dashboard, by)
    if bool(builtin) == bool(saved_report):
        raise ServiceError(_("Choose one built-in report or one saved report."), field="report")
    if builtin:
        report = get_builtin(builtin)
        if report is None or not report.allowed(by):
            raise ServiceError(_("Unknown report."), field="report")
    elif not saved_reports_for(by).filter(pk=saved_report.pk).exists():
        raise ServiceError(_("Unknown report."), field="report")
    if width not in DashboardItem.Width.values:
        raise ServiceError(_("Choose a width."), field="width")
    last = board.items.aggregate(m=Max("position"))["m"]
    item = DashboardItem.objects.create(
        dashboard=board,
        builtin=builtin,
        saved_report=saved_report,
        width=width,
        title=(title or "")[:200],
        position=0 if last is None else last + 1,
    )
    _event(ReportEvent.Kind.DASHBOARD_CHANGED, by, dashboard=board, added=item.pk)
    return item


@transaction.atomic
def dashboard_change_item(*, item: DashboardItem, by, action: str, width: int | None = None):
    """action: "remove", "up", "down" (reorder) or "resize" (with width)."""
    board = _editable(item.dashboard, by)
    items = list(board.items.order_by("position", "id"))
    index = next((i for i, it in enumerate(items) if it.pk == item.pk), None)
    if index is None:
        raise ServiceError(_("Unknown widget."))
    current = items[index]
    if action == "remove":
        current.delete()
        items.pop(index)
    elif action in ("up", "down"):
        other = index - 1 if action == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
    elif action == "resize":
        if width not in DashboardItem.Width.values:
            raise ServiceError(_("Choose a width."), field="width")
        current.width = width
        current.save(update_fields=["width"])
    else:
        raise ServiceError(_("Unknown action."), field="action")
    for position, it in enumerate(items):
        if it.position != position:
            it.position = position
            it.save(update_fields=["position"])
    _event(ReportEvent.Kind.DASHBOARD_CHANGED, by, dashboard=board, item=item.pk, action=action)


# --- sales targets ---------------------------------------------------------------------------


def _may_target(by, *, user=None, department=None) -> bool:
    ids = managed_department_ids(by)
    if ids is None:
        return True
    if department is not None:
        return department.pk in ids
    return user is not None and user.department_id in ids


@transaction.atomic
def target_set(*, by, month: dt.date, amount: Decimal, user=None, department=None, note=""):
    """Set (create or replace) the target of a person or a department for one month."""
    if (user is None) == (department is None):
        raise ServiceError(_("Choose a person or a department."), field="user")
    if amount is None or Decimal(amount) < 0:
        raise ServiceError(_("The target can't be negative."), field="amount")
    if not _may_target(by, user=user, department=department):
        raise ServiceError(_("You may only set targets within your department."))
    month = month.replace(day=1)
    target, created = SalesTarget.objects.select_for_update().get_or_create(
        user=user,
        department=department,
        month=month,
        defaults={"amount": amount, "note": note, "updated_by": by},
    )
    if not created:
        target.amount, target.note, target.updated_by = amount, note, by
        target.save(update_fields=["amount", "note", "updated_by", "updated_at"])
    _event(
        ReportEvent.Kind.TARGET_SET,
        by,
        target=target.pk,
        user=user.pk if user else None,
        department=department.pk if department else None,
        month=month.isoformat(),
        amount=str(amount),
    )
    return target


@transaction.atomic
def target_delete(*, target: SalesTarget, by) -> None:
    if not _may_target(by, user=target.user, department=target.department):
        raise ServiceError(_("You may only change targets within your department."))
    _event(ReportEvent.Kind.TARGET_DELETED, by, target=target.pk, month=target.month.isoformat())
    target.delete()


def roles_from_ids(ids) -> list[Group]:
    return list(Group.objects.filter(pk__in=ids))
