"""Reads of the money area, scoped to the user: contract, payment and invoice lists, unpaid
instalments, receivables aging.

Aging (0–30, 31–60, 61–90, 90+ days overdue, plus "not yet due"): for a contract with a
payment plan, each instalment's unpaid part is aged from its due date — payments settle the
earliest instalments first (running total of the plan against `received_amount`). The part of
the receivable no instalment covers, and the whole receivable of a contract without a plan,
is due on the signing date (or, while unsigned, on the day the contract was created).
Contracts count from approval on (approved, signed, executing, completed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.fields import field_access

from ..models import ZERO, Contract, Invoice, Payment, PaymentPlan

MONEY = DecimalField(max_digits=14, decimal_places=2)
AGING_STATUSES = (
    Contract.Status.APPROVED,
    Contract.Status.SIGNED,
    Contract.Status.EXECUTING,
    Contract.Status.COMPLETED,
)
BUCKETS = [
    ("current", _("Not yet due")),
    ("d0_30", _("0–30 days")),
    ("d31_60", _("31–60 days")),
    ("d61_90", _("61–90 days")),
    ("d90_plus", _("90+ days")),
]
AMOUNT_FIELDS = ("amount", "received_amount")


def _filterset(name):
    from .. import filters_contracts

    return getattr(filters_contracts, name)


def contract_list(*, user, filters: Mapping | None = None) -> QuerySet[Contract]:
    qs = Contract.objects.visible_to(user).select_related("customer", "owner")
    if filters:
        fs = _filterset("ContractFilter")(filters, qs, user=user)
        if not fs.is_valid():
            from django.core.exceptions import ValidationError

            raise ValidationError(fs.errors)
        qs = fs.qs
    return qs


def contract_get(*, user, pk: int) -> Contract:
    obj = (
        Contract.objects.visible_to(user)
        .select_related(
            "customer", "owner", "department", "opportunity", "quote", "approval", "created_by"
        )
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise Http404
    return obj


def payment_list(*, user, filters: Mapping | None = None) -> QuerySet[Payment]:
    qs = Payment.objects.visible_to(user).select_related(
        "contract", "contract__customer", "recorded_by", "plan"
    )
    if filters:
        fs = _filterset("PaymentFilter")(filters, qs, user=user)
        if not fs.is_valid():
            from django.core.exceptions import ValidationError

            raise ValidationError(fs.errors)
        qs = fs.qs
    return qs


def invoice_list(*, user, filters: Mapping | None = None) -> QuerySet[Invoice]:
    qs = Invoice.objects.visible_to(user).select_related(
        "contract", "contract__customer", "requested_by", "issued_by"
    )
    if filters:
        fs = _filterset("InvoiceFilter")(filters, qs, user=user)
        if not fs.is_valid():
            from django.core.exceptions import ValidationError

            raise ValidationError(fs.errors)
        qs = fs.qs
    return qs


def invoice_get(*, user, pk: int) -> Invoice:
    obj = (
        Invoice.objects.visible_to(user)
        .select_related("contract", "contract__customer", "requested_by", "issued_by", "approval")
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise Http404
    return obj


# --- unpaid instalments ----------------------------------------------------------------------


def plans_unpaid(qs: QuerySet[PaymentPlan], *, only_unpaid: bool = True) -> QuerySet[PaymentPlan]:
    """Annotate `running` (this and earlier instalments of the contract) and `unpaid` (what of
    this instalment the received amount does not cover); keep the unpaid ones."""
    earlier = (
        PaymentPlan.objects.filter(contract_id=OuterRef("contract_id"))
        .filter(
            Q(due_date__lt=OuterRef("due_date"))
            | Q(due_date=OuterRef("due_date"), seq__lt=OuterRef("seq"))
            | Q(due_date=OuterRef("due_date"), seq=OuterRef("seq"), pk__lte=OuterRef("pk"))
        )
        .order_by()
        .values("contract_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    qs = qs.annotate(running=Coalesce(Subquery(earlier, output_field=MONEY), Value(ZERO)))
    qs = qs.annotate(
        unpaid=Least(
            F("amount"),
            ExpressionWrapper(F("running") - F("contract__received_amount"), output_field=MONEY),
        )
    )
    if only_unpaid:
        qs = qs.filter(running__gt=F("contract__received_amount"))
    return qs


def plans_with_state(contract: Contract) -> list[PaymentPlan]:
    """The contract's instalments, each with `paid` and `unpaid` (FIFO) — no extra query."""
    plans = list(contract.payment_plans.all())
    left = contract.received_amount
    for p in sorted(plans, key=lambda p: (p.due_date, p.seq, p.pk)):
        p.paid = min(p.amount, max(left, ZERO))
        p.unpaid = p.amount - p.paid
        left -= p.amount
    return plans


def payments_due_for(user, *, within_days: int, today: dt.date | None = None):
    """Unpaid instalments of visible active contracts due within `within_days` or overdue."""
    today = today or timezone.localdate()
    qs = PaymentPlan.objects.visible_to(user).filter(
        contract__status__in=AGING_STATUSES, due_date__lte=today + dt.timedelta(days=within_days)
    )
    return (
        plans_unpaid(qs).select_related("contract", "contract__customer").order_by("due_date", "pk")
    )


# --- receivables aging -----------------------------------------------------------------------


@dataclass
class AgingRow:
    key: int | None
    label: str
    buckets: dict = field(default_factory=lambda: {k: ZERO for k, _l in BUCKETS})
    contracts: int = 0

    @property
    def overdue(self) -> Decimal:
        return sum((v for k, v in self.buckets.items() if k != "current"), ZERO)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


def bucket_for(days_overdue: int) -> str:
    if days_overdue < 0:
        return "current"
    if days_overdue <= 30:
        return "d0_30"
    if days_overdue <= 60:
        return "d31_60"
    if days_overdue <= 90:
        return "d61_90"
    return "d90_plus"


def unpaid_parts(*, amount, received, since: dt.date, plans) -> list[tuple[dt.date, Decimal]]:
    """(date the amount ages from, unpaid amount) of one contract — the one aging rule of the
    suite (this page and API, and the `receivables-aging` report both use it).

    The received amount pays the instalments (`plans`: (due_date, amount) in due-date order)
    one after the other; every instalment left (partly) unpaid ages from its due date. What
    the plans don't cover, less what was received beyond them, ages from `since` (the signing
    date, else the day the contract was created)."""
    left = received
    planned = ZERO
    parts = []
    for due, part in plans:
        planned += part
        paid = min(part, max(left, ZERO))
        left -= part
        if part - paid > 0:
            parts.append((due, part - paid))
    rest = amount - max(planned, received)
    if rest > 0:
        parts.append((since, rest))
    return parts


def may_see_amounts(user) -> bool:
    access = field_access(user, Contract)
    return all(access.can_view(n) for n in AMOUNT_FIELDS)


def receivables_aging(
    *, user, by: str = "customer", today: dt.date | None = None, filters: Mapping | None = None
) -> tuple[list[AgingRow], AgingRow]:
    """Receivables of the user's visible contracts by customer or owner, in age buckets.

    Two queries (contracts, their instalments), whatever the number of contracts. Raises
    PermissionDenied when field security hides contract amounts from the user.
    """
    if by not in ("customer", "owner"):
        raise ValueError(by)
    if not user.has_perm("sales.view_contract") or not may_see_amounts(user):
        raise PermissionDenied
    today = today or timezone.localdate()
    qs = contract_list(user=user, filters=filters).filter(
        status__in=AGING_STATUSES, received_amount__lt=F("amount")
    )
    contracts = list(
        qs.order_by().values(
            "pk",
            "amount",
            "received_amount",
            "signed_date",
            "created_at",
            "customer_id",
            "customer__name",
            "owner_id",
            "owner__display_name",
            "owner__username",
        )
    )
    plans: dict[int, list] = defaultdict(list)
    ids = [c["pk"] for c in contracts]
    for start in range(0, len(ids), 2000):
        for row in (
            PaymentPlan.objects.filter(contract_id__in=ids[start : start + 2000])
            .order_by("contract_id", "due_date", "seq", "pk")
            .values_list("contract_id", "due_date", "amount")
        ):
            plans[row[0]].append((row[1], row[2]))
    rows: dict = {}
    total = AgingRow(key=None, label=str(_("Total")))
    for c in contracts:
        if by == "customer":
            key, label = c["customer_id"], c["customer__name"]
        else:
            key = c["owner_id"]
            label = c["owner__display_name"] or c["owner__username"] or "—"
        row = rows.get(key)
        if row is None:
            row = rows[key] = AgingRow(key=key, label=label)
        row.contracts += 1
        total.contracts += 1
        parts = unpaid_parts(
            amount=c["amount"],
            received=c["received_amount"],
            since=c["signed_date"] or timezone.localtime(c["created_at"]).date(),
            plans=plans.get(c["pk"], []),
        )
        for due, amount in parts:
            bucket = bucket_for((today - due).days)
            row.buckets[bucket] += amount
            total.buckets[bucket] += amount
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, -r.total, r.label))
    return ordered, total


# --- customer 360° --------------------------------------------------------------------------


def customer_contracts(*, user, customer, limit: int = 10) -> list[Contract]:
    if not user.has_perm("sales.view_contract"):
        return []
    return list(
        Contract.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("owner")
        .order_by("-created_at", "-id")[:limit]
    )
