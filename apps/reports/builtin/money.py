"""Money reports: payment forecast (plans due by month vs received) and receivables aging."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, F, Prefetch, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.sales.models import Contract, Payment, PaymentPlan
from apps.sales.selectors.contracts import unpaid_parts

from ..params import ReportParams, add_months
from ..results import Chart, Column, ReportResult, Section
from ._common import ZERO, money, scoped, user_names


def _month_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.replace(day=1)


def payment_forecast(user, p: ReportParams) -> ReportResult:
    """Per month of the period: instalments due (plans of active contracts) and payments
    received, the gap and the running totals."""
    plans = (
        scoped(
            PaymentPlan,
            user,
            p,
            date="due_date",
            is_datetime=False,
            owner="contract__owner",
            dept="contract__department",
        )
        .filter(contract__in=Contract.objects.active().values("pk"))
        .annotate(m=TruncMonth("due_date"))
        .values("m")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    received = (
        scoped(
            Payment,
            user,
            p,
            date="received_at",
            is_datetime=False,
            owner="contract__owner",
            dept="contract__department",
        )
        .annotate(m=TruncMonth("received_at"))
        .values("m")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    due_by = {_month_key(r["m"]): r for r in plans}
    got_by = {_month_key(r["m"]): r for r in received}
    months = sorted(set(due_by) | set(got_by))
    if p.start and p.end:
        months, cursor = [], p.start.replace(day=1)
        while cursor < p.end:
            months.append(cursor)
            cursor = add_months(cursor, 1)
    rows, cum_due, cum_got = [], ZERO, ZERO
    for m in months:
        due = money(due_by.get(m, {}).get("amount"))
        got = money(got_by.get(m, {}).get("amount"))
        cum_due += due
        cum_got += got
        rows.append(
            {
                "month": f"{m:%Y-%m}",
                "instalments": due_by.get(m, {}).get("n", 0),
                "due": due,
                "received": got,
                "gap": money(got - due),
                "cumulative_due": money(cum_due),
                "cumulative_received": money(cum_got),
            }
        )
    plan_amount = ((PaymentPlan, "amount"),)
    paid_amount = ((Payment, "amount"),)
    section = Section(
        key="months",
        title=_("Plans due and payments received by month"),
        columns=[
            Column("month", _("Month")),
            Column("instalments", _("Instalments due"), "int"),
            Column("due", _("Due (plans)"), "money", plan_amount),
            Column("received", _("Received"), "money", paid_amount),
            Column("gap", _("Received − due"), "money", plan_amount + paid_amount),
            Column("cumulative_due", _("Due, cumulative"), "money", plan_amount),
            Column("cumulative_received", _("Received, cumulative"), "money", paid_amount),
        ],
        rows=rows,
        chart=Chart("bar", "month", ["due", "received"]),
        totals={
            "month": _("Total"),
            "instalments": sum(r["instalments"] for r in rows),
            "due": money(cum_due),
            "received": money(cum_got),
            "gap": money(cum_got - cum_due),
        },
    )
    return ReportResult("payment-forecast", _("Payment forecast"), [section])


# (key, label, lowest age in days, highest age in days or None): days past the due date, as the
# money area counts them (apps.sales.selectors.contracts.bucket_for; "90+" split in two here).
AGING_BUCKETS = [
    ("current", gettext_lazy("Not yet due"), None, -1),
    ("d0_30", gettext_lazy("0–30 days"), 0, 30),
    ("d31_60", gettext_lazy("31–60 days"), 31, 60),
    ("d61_90", gettext_lazy("61–90 days"), 61, 90),
    ("d91_180", gettext_lazy("91–180 days"), 91, 180),
    ("d181", gettext_lazy("Over 180 days"), 181, None),
]


def aging_bucket(age_days: int) -> str:
    for key, _label, low, high in AGING_BUCKETS:
        if (low is None or age_days >= low) and (high is None or age_days <= high):
            return key
    return AGING_BUCKETS[-1][0]


def unpaid_items(contract, plans) -> list[tuple[dt.date | None, object]]:
    """(date the amount ages from, unpaid amount) of one contract: the money area's rule
    (`apps.sales.selectors.contracts.unpaid_parts`), so this report and `contracts/aging/`
    always agree."""
    ordered = sorted(plans, key=lambda x: (x.due_date, x.seq, x.pk))
    return unpaid_parts(
        amount=contract.amount,
        received=contract.received_amount,
        since=contract.signed_date or timezone.localtime(contract.created_at).date(),
        plans=[(plan.due_date, plan.amount) for plan in ordered],
    )


def receivables_aging(user, p: ReportParams) -> ReportResult:
    """Unpaid receivables of active contracts by age on the `as_of` day (default today)."""
    as_of = p.as_of or timezone.localdate()
    contracts = (
        scoped(Contract, user, p, date=None)
        .active()
        .filter(amount__gt=F("received_amount"))
        .only("pk", "amount", "received_amount", "signed_date", "created_at", "owner_id")
        .prefetch_related(
            Prefetch(
                "payment_plans",
                queryset=PaymentPlan.objects.only("pk", "contract_id", "due_date", "amount", "seq"),
            )
        )
    )
    totals = {key: ZERO for key, *_rest in AGING_BUCKETS}
    counts = {key: 0 for key, *_rest in AGING_BUCKETS}
    by_owner: dict = defaultdict(lambda: {key: ZERO for key, *_rest in AGING_BUCKETS})
    contracts_n = 0
    for contract in contracts.iterator(chunk_size=2000):
        contracts_n += 1
        for since, amount in unpaid_items(contract, contract.payment_plans.all()):
            age = (as_of - since).days if since else 0
            key = aging_bucket(age)
            totals[key] += amount
            counts[key] += 1
            by_owner[contract.owner_id][key] += amount
    secured = ((Contract, "amount"), (Contract, "received_amount"))
    bucket_rows = [
        {"bucket": str(label), "items": counts[key], "amount": money(totals[key])}
        for key, label, *_rest in AGING_BUCKETS
    ]
    buckets = Section(
        key="buckets",
        title=_("Receivables by age on %(day)s") % {"day": as_of.isoformat()},
        columns=[
            Column("bucket", _("Age")),
            Column("items", _("Unpaid items"), "int"),
            Column("amount", _("Receivable"), "money", secured),
        ],
        rows=bucket_rows,
        chart=Chart("bar", "bucket", ["amount"]),
        totals={
            "bucket": _("Total"),
            "items": sum(counts.values()),
            "amount": money(sum(totals.values(), ZERO)),
        },
        notes=[_("%(n)s contracts with an open receivable.") % {"n": contracts_n}],
    )
    names = user_names(by_owner)
    owner_rows = []
    for owner_id, values in by_owner.items():
        row = {"person": names.get(owner_id, _("(nobody)")), "person_id": owner_id}
        row.update({k: money(v) for k, v in values.items()})
        row["total"] = money(sum(values.values(), ZERO))
        owner_rows.append(row)
    owner_rows.sort(key=lambda r: (-r["total"], r["person"]))
    people = Section(
        key="people",
        title=_("Receivables by owner"),
        columns=[
            Column("person", _("Owner")),
            *[Column(key, str(label), "money", secured) for key, label, *_rest in AGING_BUCKETS],
            Column("total", _("Total"), "money", secured),
        ],
        rows=owner_rows,
        chart=Chart("stacked_bar", "person", [key for key, *_rest in AGING_BUCKETS]),
    )
    result = ReportResult("receivables-aging", _("Receivables aging"), [buckets, people])
    return result
