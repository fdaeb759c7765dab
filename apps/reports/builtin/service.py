"""Customer profile, ticket SLA, approval cycle time and team activity."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.approvals.models import ApprovalAction, ApprovalRequest
from apps.customers.models import Customer, FollowUp, Ticket
from apps.sales.models import Opportunity
from apps.tasks.models import Task

from ..params import ReportParams
from ..results import Chart, Column, ReportResult, Section
from ._common import choice_label, hours, ratio, scoped, user_names


def customer_profile(user, p: ReportParams) -> ReportResult:
    """Customers (created in the period, when one is given) by source, province, industry,
    level and status. Provinces are ranked bars: ECharts 5 ships no China map data."""
    qs = scoped(Customer, user, p, date="created_at" if (p.start or p.end) else None)
    sections = []
    specs = [
        ("source", _("By source"), Customer.Source.choices, "pie", False),
        ("province", _("By province"), None, "bar", True),
        ("industry", _("By industry"), Customer.Industry.choices, "bar", True),
        ("level", _("By level"), Customer.Level.choices, "pie", False),
        ("status", _("By status"), Customer.Status.choices, "bar", False),
    ]
    # One pass over the table: counts per combination of the five fields, summed per field
    # here (five GROUP BYs were five full scans; see docs/benchmarks.md, reports).
    fields = [spec[0] for spec in specs]
    per_field: dict = {f: {} for f in fields}
    for combo in qs.values(*fields).annotate(n=Count("id")).order_by():
        for f in fields:
            per_field[f][combo[f]] = per_field[f].get(combo[f], 0) + combo["n"]
    for field, title, choices, chart, horizontal in specs:
        rows = []
        found = [
            {field: value, "n": n}
            for value, n in sorted(
                per_field[field].items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")
            )
        ]
        total = sum(r["n"] for r in found)
        for r in found:
            value = r[field]
            label = choice_label(choices, value) if choices else (value or _("(empty)"))
            rows.append(
                {"value": label, "code": value, "customers": r["n"], "share": ratio(r["n"], total)}
            )
        sections.append(
            Section(
                key=field,
                title=title,
                columns=[
                    Column(
                        "value",
                        str(Customer._meta.get_field(field).verbose_name).capitalize(),
                        "text",
                        ((Customer, field),),
                    ),
                    Column("customers", _("Customers"), "int"),
                    Column("share", _("Share (%)"), "percent"),
                ],
                rows=rows,
                chart=Chart(chart, "value", ["customers"], horizontal=horizontal),
                totals={"value": _("Total"), "customers": total},
            )
        )
    # A section grouped by a hidden field is left out whole (apply_field_security).
    return ReportResult("customer-profile", _("Customer profile"), sections)


def _breached_q(now):
    done = Coalesce("resolved_at", "closed_at")
    return Q(sla_due_at__isnull=False) & (
        Q(done_at__isnull=False, done_at__gt=F("sla_due_at"))
        | Q(done_at__isnull=True, sla_due_at__lt=now)
    ), done


def ticket_sla(user, p: ReportParams) -> ReportResult:
    """Tickets opened in the period: resolved, SLA breached (resolved after the due time, or
    still open past it), satisfaction — by month opened and by priority."""
    now = timezone.now()
    breached, done = _breached_q(now)
    qs = scoped(Ticket, user, p, date="created_at", owner="assignee").annotate(done_at=done)
    aggregates = {
        "opened": Count("id"),
        "resolved": Count("id", filter=Q(done_at__isnull=False)),
        "breached": Count("id", filter=breached),
        "avg_satisfaction": Avg("satisfaction"),
        "rated": Count("satisfaction"),
    }

    def build(rows_in, label):
        rows = []
        for r in rows_in:
            rows.append(
                {
                    "label": label(r),
                    "opened": r["opened"],
                    "resolved": r["resolved"],
                    "breached": r["breached"],
                    "breach_rate": ratio(r["breached"], r["opened"]),
                    "satisfaction": (
                        round(r["avg_satisfaction"], 2) if r["avg_satisfaction"] else None
                    ),
                    "rated": r["rated"],
                }
            )
        return rows

    def columns(first):
        return [
            Column("label", first),
            Column("opened", _("Opened"), "int"),
            Column("resolved", _("Resolved"), "int"),
            Column("breached", _("SLA breached"), "int", ((Ticket, "sla_due_at"),)),
            Column("breach_rate", _("Breach rate (%)"), "percent", ((Ticket, "sla_due_at"),)),
            Column(
                "satisfaction", _("Average satisfaction"), "number", ((Ticket, "satisfaction"),)
            ),
            Column("rated", _("Ratings"), "int", ((Ticket, "satisfaction"),)),
        ]

    by_month = build(
        qs.annotate(m=TruncMonth("created_at")).values("m").annotate(**aggregates).order_by("m"),
        lambda r: f"{timezone.localtime(r['m']) if timezone.is_aware(r['m']) else r['m']:%Y-%m}",
    )
    by_priority = build(
        qs.values("priority").annotate(**aggregates).order_by("priority"),
        lambda r: choice_label(Ticket.Priority.choices, r["priority"]),
    )

    def total(rows):
        return {
            "label": _("Total"),
            "opened": sum(r["opened"] for r in rows),
            "resolved": sum(r["resolved"] for r in rows),
            "breached": sum(r["breached"] for r in rows),
        }

    return ReportResult(
        "ticket-sla",
        _("Ticket SLA"),
        [
            Section(
                "months",
                _("By month opened"),
                columns(_("Month")),
                by_month,
                Chart("bar", "label", ["opened", "resolved", "breached"]),
                total(by_month),
            ),
            Section(
                "priorities",
                _("By priority"),
                columns(_("Priority")),
                by_priority,
                Chart("bar", "label", ["opened", "breached"]),
                total(by_priority),
            ),
        ],
    )


DECISIONS = {ApprovalAction.Kind.APPROVE, ApprovalAction.Kind.REJECT, ApprovalAction.Kind.RETURN}
STARTS = {ApprovalAction.Kind.SUBMIT, ApprovalAction.Kind.RESUBMIT}


def approval_cycle(user, p: ReportParams) -> ReportResult:
    """Requests decided in the period: hours from submission to decision per template, and
    hours each step took (from the moment the step was reached to each approver's decision)."""
    requests = list(
        scoped(ApprovalRequest, user, p, date="decided_at", owner="initiator")
        .filter(decided_at__isnull=False)
        .values_list("pk", "template_id", "template__name", "status", "submitted_at", "decided_at")
    )
    per_template: dict = defaultdict(lambda: {"n": 0, "approved": 0, "rejected": 0, "spent": []})
    template_of = {}
    for pk, _tid, name, status, submitted, decided in requests:
        template_of[pk] = name
        bucket = per_template[name]
        bucket["n"] += 1
        bucket["approved"] += status == ApprovalRequest.Status.APPROVED
        bucket["rejected"] += status == ApprovalRequest.Status.REJECTED
        bucket["spent"].append(decided - submitted)
    template_rows = []
    for name, b in sorted(per_template.items()):
        spent = b["spent"]
        template_rows.append(
            {
                "template": name,
                "requests": b["n"],
                "approved": b["approved"],
                "rejected": b["rejected"],
                "avg_hours": hours(sum(spent, dt.timedelta()) / len(spent)),
                "max_hours": hours(max(spent)),
            }
        )
    per_step: dict = defaultdict(list)
    actions = (
        ApprovalAction.objects.filter(request_id__in=list(template_of))
        .order_by("request_id", "created_at", "id")
        .values_list("request_id", "round", "step_index", "step_name", "kind", "created_at")
    )
    current, last_done, step_start = None, None, {}
    for request_id, rnd, step_index, step_name, kind, at in actions.iterator(chunk_size=5000):
        if request_id != current:
            current, last_done, step_start = request_id, None, {}
        if kind in STARTS:
            last_done = at
        elif kind in DECISIONS and last_done is not None:
            start = step_start.setdefault((rnd, step_index), last_done)
            per_step[(template_of[request_id], step_name or str(step_index))].append(at - start)
            last_done = at
    step_rows = [
        {
            "template": template,
            "step": step,
            "decisions": len(spent),
            "avg_hours": hours(sum(spent, dt.timedelta()) / len(spent)),
            "max_hours": hours(max(spent)),
        }
        for (template, step), spent in sorted(per_step.items())
    ]
    for row in step_rows:
        row["label"] = f"{row['template']} · {row['step']}"
    return ReportResult(
        "approval-cycle",
        _("Approval cycle time"),
        [
            Section(
                "templates",
                _("By template"),
                [
                    Column("template", _("Template")),
                    Column("requests", _("Requests decided"), "int"),
                    Column("approved", _("Approved"), "int"),
                    Column("rejected", _("Rejected"), "int"),
                    Column("avg_hours", _("Average hours"), "hours"),
                    Column("max_hours", _("Longest (hours)"), "hours"),
                ],
                template_rows,
                Chart("bar", "template", ["avg_hours"]),
            ),
            Section(
                "steps",
                _("By step"),
                [
                    Column("label", _("Template · step")),
                    Column("decisions", _("Decisions"), "int"),
                    Column("avg_hours", _("Average hours"), "hours"),
                    Column("max_hours", _("Longest (hours)"), "hours"),
                ],
                step_rows,
                Chart("bar", "label", ["avg_hours"], horizontal=True),
            ),
        ],
    )


def tasks_done_query(user, p: ReportParams):
    """values(assignee, n) of the tasks the user may see that were done in the period: status
    done, finished (`completed_at`) in the period, per assignee; the department filter is the
    task's department (its assignee's when it was assigned)."""
    qs = scoped(Task, user, p, date="completed_at", owner="assignee", dept="department").filter(
        status=Task.Status.DONE
    )
    return qs.values("assignee").annotate(n=Count("id"))


def team_activity(user, p: ReportParams) -> ReportResult:
    """Per person, in the period: follow-ups by kind, deals made, tickets resolved, tasks done."""
    follow_ups = scoped(FollowUp, user, p, date="occurred_at", dept="owner__department")
    fu: dict = defaultdict(dict)
    for r in follow_ups.values("owner", "kind").annotate(n=Count("id")):
        fu[r["owner"]][r["kind"]] = r["n"]
    deals = {
        r["owner"]: r["n"]
        for r in scoped(Opportunity, user, p, date="created_at")
        .values("owner")
        .annotate(n=Count("id"))
    }
    resolved = {
        r["assignee"]: r["n"]
        for r in scoped(Ticket, user, p, date="resolved_at", owner="assignee")
        .values("assignee")
        .annotate(n=Count("id"))
    }
    tasks = {r["assignee"]: r["n"] for r in tasks_done_query(user, p)}
    people = (set(fu) | set(deals) | set(resolved) | set(tasks)) - {None}
    names = user_names(people)
    kinds = FollowUp.Kind.choices
    rows = []
    for pk in people:
        row = {"person": names.get(pk, str(pk)), "person_id": pk}
        for kind, _label in kinds:
            row[f"fu_{kind}"] = fu.get(pk, {}).get(kind, 0)
        row["follow_ups"] = sum(fu.get(pk, {}).values())
        row["deals"] = deals.get(pk, 0)
        row["tickets"] = resolved.get(pk, 0)
        row["tasks"] = tasks.get(pk, 0)
        rows.append(row)
    rows.sort(key=lambda r: (-r["follow_ups"], r["person"]))
    columns = [
        Column("person", _("Person")),
        Column("follow_ups", _("Follow-ups"), "int"),
        *[Column(f"fu_{kind}", str(label), "int") for kind, label in kinds],
        Column("deals", _("Deals created"), "int"),
        Column("tickets", _("Tickets resolved"), "int"),
        Column("tasks", _("Tasks done"), "int"),
    ]
    notes = []
    section = Section(
        "people",
        _("Activity by person"),
        columns,
        rows,
        Chart("stacked_bar", "person", [f"fu_{kind}" for kind, _label in kinds]),
        {
            "person": _("Total"),
            **{c.key: sum(r.get(c.key) or 0 for r in rows) for c in columns[1:]},
        },
        notes,
    )
    return ReportResult("team-activity", _("Team activity"), [section])
