"""The built-in reports: one registry, used by the pages, the API, exports and dashboards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ..params import ReportParams
from ..results import ReportResult, apply_field_security


@dataclass(frozen=True)
class BuiltinReport:
    key: str  # URL slug: /reports/<key>/ and /api/v1/reports/<key>/
    title: str
    description: str
    icon: str
    perms: tuple[str, ...]  # any one of them opens the report (rows are scoped anyway)
    run: Callable[[object, ReportParams], ReportResult]
    default_period: str = ""
    params: tuple[str, ...] = ("period", "department", "owner")

    def allowed(self, user) -> bool:
        return user.is_authenticated and any(user.has_perm(p) for p in self.perms)

    def result(self, user, params: ReportParams) -> ReportResult:
        result = apply_field_security(self.run(user, params), user)
        result.params = params.describe()
        return result


def _reports() -> list[BuiltinReport]:
    from . import money, sales, service

    return [
        BuiltinReport(
            "funnel",
            _("Sales funnel"),
            _("Deals per stage, amounts and conversion between stages."),
            "funnel",
            ("sales.view_opportunity",),
            sales.funnel,
            "this_year",
            ("period", "department", "owner", "pipeline"),
        ),
        BuiltinReport(
            "leaderboard",
            _("Rep leaderboard"),
            _("Won amount, contracts, payments, new customers and follow-ups against targets."),
            "trophy",
            ("sales.view_opportunity", "sales.view_contract"),
            sales.leaderboard,
            "this_month",
        ),
        BuiltinReport(
            "customer-profile",
            _("Customer profile"),
            _("Customers by source, province, industry, level and status."),
            "pie-chart",
            ("customers.view_customer",),
            service.customer_profile,
        ),
        BuiltinReport(
            "lead-sources",
            _("Lead sources and campaign ROI"),
            _("Leads and conversions by source; campaign cost against won revenue."),
            "megaphone",
            ("sales.view_lead", "sales.view_campaign"),
            sales.lead_sources,
            "this_year",
        ),
        BuiltinReport(
            "payment-forecast",
            _("Payment forecast"),
            _("Instalments due by month against payments received."),
            "calendar3",
            ("sales.view_paymentplan", "sales.view_payment", "sales.view_contract"),
            money.payment_forecast,
            "this_year",
        ),
        BuiltinReport(
            "receivables-aging",
            _("Receivables aging"),
            _("Unpaid receivables by age, in total and per owner."),
            "hourglass-split",
            ("sales.view_contract",),
            money.receivables_aging,
            "",
            ("as_of", "department", "owner"),
        ),
        BuiltinReport(
            "ticket-sla",
            _("Ticket SLA"),
            _("Tickets opened, resolved and past their SLA; customer satisfaction."),
            "life-preserver",
            ("customers.view_ticket",),
            service.ticket_sla,
            "last_12_months",
        ),
        BuiltinReport(
            "approval-cycle",
            _("Approval cycle time"),
            _("Hours from submission to decision, by template and by step."),
            "stopwatch",
            ("approvals.view_approvalrequest",),
            service.approval_cycle,
            "this_year",
        ),
        BuiltinReport(
            "team-activity",
            _("Team activity"),
            _("Follow-ups, deals, tickets and tasks done per person."),
            "activity",
            ("customers.view_followup", "sales.view_opportunity"),
            service.team_activity,
            "this_month",
        ),
    ]


_cache: dict[str, BuiltinReport] = {}


def builtin_reports() -> dict[str, BuiltinReport]:
    if not _cache:
        _cache.update({r.key: r for r in _reports()})
    return _cache


def get_builtin(key: str) -> BuiltinReport | None:
    return builtin_reports().get(key)


def builtins_for(user) -> list[BuiltinReport]:
    return [r for r in builtin_reports().values() if r.allowed(user)]
