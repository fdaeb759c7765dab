"""Drill-down from the built-in reports: the records behind one number.

`/reports/<key>/drill/?section=<section>&k=<row key>&<the report's parameters>` lists the
records a row of a section counts, with the same scope and filters as the report (each drill
starts from the same `scoped()` query as the report itself). Supported:

- funnel `stages`: the deals that *reached* the stage (the funnel's number);
  funnel `amounts`: the deals now at the stage;
- leaderboard `people`: the person's active contracts signed in the period (column Contracts);
- customer-profile `source|province|industry|level|status`: customers with that value;
- receivables-aging `buckets`: contracts with an unpaid item in the age bucket (with the
  bucket's unpaid amount and item count per contract); `people`: an owner's contracts with an
  open receivable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import F, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers.models import Customer
from apps.org.fields import field_access
from apps.sales.models import Contract, Opportunity, PaymentPlan

from ..params import ReportParams
from ..results import ReportResult
from ._common import ZERO, scoped


@dataclass
class DrillColumn:
    label: str
    get: object  # callable(obj) -> value
    secured: tuple = ()  # (model, field) pairs: left out when the user may not see them


@dataclass
class DrillList:
    title: str
    records: object  # queryset or list
    columns: list[DrillColumn]


class DrillError(ValueError):
    """Unknown section or key: the view answers 404."""


def _user(obj, attr="owner"):
    return getattr(obj, attr, None) or "—"


def _visible_columns(columns, user):
    cache: dict = {}

    def visible(model, name):
        if model not in cache:
            cache[model] = field_access(user, model)
        return cache[model].can_view(name)

    return [c for c in columns if all(visible(m, f) for m, f in c.secured)]


# --- funnel ----------------------------------------------------------------------------------


def _opportunity_columns():
    return [
        DrillColumn(_("Customer"), lambda o: o.customer),
        DrillColumn(_("Owner"), _user),
        DrillColumn(_("Stage"), lambda o: o.stage),
        DrillColumn(_("Amount"), lambda o: o.amount, ((Opportunity, "amount"),)),
        DrillColumn(_("Created"), lambda o: timezone.localtime(o.created_at).date()),
    ]


def _funnel(user, p: ReportParams, section: str, key: str) -> DrillList:
    from .sales import default_pipeline

    pipeline = p.pipeline or default_pipeline()
    if pipeline is None:
        raise DrillError(key)
    stage = pipeline.stages.filter(pk=_int(key)).first()
    if stage is None:
        raise DrillError(key)
    qs = scoped(Opportunity, user, p, date="created_at").filter(pipeline=pipeline)
    if section == "amounts" or stage.is_lost:
        qs = qs.filter(stage=stage)
        title = _("Deals at %(stage)s") % {"stage": stage.name}
    elif section == "stages":
        # Same rule as the funnel: now at this or a later open stage, or lost after leaving
        # this or a later stage (a lost deal without history counts at the first stage).
        stages = list(pipeline.stages.all())
        open_orders = sorted(s.order for s in stages if not s.is_lost)
        first_is_reached = bool(open_orders) and open_orders[0] >= stage.order
        later = [s.pk for s in stages if s.order >= stage.order]
        others = [s.pk for s in stages if s.order < stage.order]
        lost = Q(stage__is_lost=True, lost_from_stage__in=later)
        if first_is_reached:  # created lost, or lost from outside the pipeline: first stage
            lost |= Q(stage__is_lost=True) & (
                Q(lost_from_stage__isnull=True) | ~Q(lost_from_stage__in=others)
            )
        qs = qs.filter(Q(stage__is_lost=False, stage__order__gte=stage.order) | lost)
        title = _("Deals that reached %(stage)s") % {"stage": stage.name}
    else:
        raise DrillError(section)
    qs = qs.select_related("customer", "owner", "stage").order_by("-created_at", "-pk")
    return DrillList(title, qs, _opportunity_columns())


# --- leaderboard -----------------------------------------------------------------------------


def _contract_columns():
    return [
        DrillColumn(_("Customer"), lambda c: c.customer),
        DrillColumn(_("Owner"), _user),
        DrillColumn(_("Status"), lambda c: c.get_status_display()),
        DrillColumn(_("Signed"), lambda c: c.signed_date),
        DrillColumn(_("Amount"), lambda c: c.amount, ((Contract, "amount"),)),
        DrillColumn(_("Received"), lambda c: c.received_amount, ((Contract, "received_amount"),)),
    ]


def _leaderboard(user, p: ReportParams, section: str, key: str) -> DrillList:
    if section != "people":
        raise DrillError(section)
    person = _int(key)
    qs = (
        scoped(Contract, user, p, date="signed_date", is_datetime=False)
        .active()
        .filter(owner_id=person)
        .select_related("customer", "owner")
        .order_by("-signed_date", "-pk")
    )
    return DrillList(_("Contracts signed"), qs, _contract_columns())


# --- customer profile ------------------------------------------------------------------------

PROFILE_FIELDS = ("source", "province", "industry", "level", "status")


def _profile(user, p: ReportParams, section: str, key: str) -> DrillList:
    if section not in PROFILE_FIELDS:
        raise DrillError(section)
    if not field_access(user, Customer).can_view(section):
        raise DrillError(section)
    qs = scoped(Customer, user, p, date="created_at" if (p.start or p.end) else None)
    if key in ("", None):
        qs = qs.filter(Q(**{f"{section}__isnull": True}) | Q(**{section: ""}))
    else:
        qs = qs.filter(**{section: key})
    qs = qs.select_related("owner").order_by("-created_at", "-pk")
    columns = [
        DrillColumn(_("Owner"), _user),
        DrillColumn(_("Level"), lambda c: c.get_level_display(), ((Customer, "level"),)),
        DrillColumn(_("Province"), lambda c: c.province, ((Customer, "province"),)),
        DrillColumn(_("Created"), lambda c: timezone.localtime(c.created_at).date()),
    ]
    return DrillList(_("Customers"), qs, columns)


# --- receivables aging -----------------------------------------------------------------------


def _aging(user, p: ReportParams, section: str, key: str) -> DrillList:
    from .money import AGING_BUCKETS, aging_bucket, unpaid_items

    as_of = p.as_of or timezone.localdate()
    contracts = (
        scoped(Contract, user, p, date=None)
        .active()
        .filter(amount__gt=F("received_amount"))
        .select_related("customer", "owner")
        .prefetch_related(
            Prefetch(
                "payment_plans",
                queryset=PaymentPlan.objects.only("pk", "contract_id", "due_date", "amount", "seq"),
            )
        )
        .order_by("-signed_date", "-pk")
    )
    labels = {k: str(label) for k, label, *_rest in AGING_BUCKETS}
    if section == "buckets":
        if key not in labels:
            raise DrillError(key)
        title = _("Receivables %(bucket)s") % {"bucket": labels[key]}
    elif section == "people":
        contracts = contracts.filter(owner_id=_int(key) if key else None)
        title = _("Open receivables")
    else:
        raise DrillError(section)
    records = []
    for contract in contracts:
        amount, items = ZERO, 0
        for since, unpaid in unpaid_items(contract, contract.payment_plans.all()):
            age = (as_of - since).days if since else 0
            if section == "people" or aging_bucket(age) == key:
                amount += unpaid
                items += 1
        if items:
            contract.drill_amount, contract.drill_items = amount, items
            records.append(contract)
    secured = ((Contract, "amount"), (Contract, "received_amount"))
    columns = [
        *_contract_columns(),
        DrillColumn(_("Unpaid items"), lambda c: c.drill_items),
        DrillColumn(_("Receivable"), lambda c: c.drill_amount, secured),
    ]
    return DrillList(title, records, columns)


DRILLS = {
    "funnel": _funnel,
    "leaderboard": _leaderboard,
    "customer-profile": _profile,
    "receivables-aging": _aging,
}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise DrillError(value) from exc


def drill_list(key: str, user, p: ReportParams, section: str, row_key: str) -> DrillList:
    """The records behind one row; DrillError for anything not drillable."""
    func = DRILLS.get(key)
    if func is None:
        raise DrillError(key)
    found = func(user, p, section, row_key)
    found.columns = _visible_columns(found.columns, user)
    return found


def _row_key(report: str, section: str, index: int, row: dict):
    """The key of a row in the drill URL, or None when the row has no drill-down."""
    if report == "funnel":
        return row.get("stage_id")
    if report == "leaderboard" and section == "people":
        return row.get("person_id")
    if report == "customer-profile" and section in PROFILE_FIELDS:
        return row.get("code") if row.get("code") is not None else ""
    if report == "receivables-aging":
        if section == "buckets":
            from .money import AGING_BUCKETS

            return AGING_BUCKETS[index][0] if index < len(AGING_BUCKETS) else None
        if section == "people":
            return row.get("person_id") or ""
    return None


def add_drill_links(result: ReportResult, p: ReportParams) -> ReportResult:
    """Give every drillable row its `_drill` URL (pages and widgets; the table's first cell
    and the chart's bars, slices and points link to it)."""
    if result.key not in DRILLS:
        return result
    base = reverse("reports:builtin-drill", args=[result.key])
    query = p.as_query()
    for section in result.sections:
        for index, row in enumerate(section.rows):
            key = _row_key(result.key, section.key, index, row)
            if key is None:
                continue
            row["_drill"] = base + "?" + urlencode({**query, "section": section.key, "k": str(key)})
    return result
