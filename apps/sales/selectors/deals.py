"""Reads of the deals area, scoped to the user and shaped for a fixed number of queries.

Every function starts from `Model.objects.visible_to(user)`: a deal or quote outside the
user's scope is never returned (pages and API turn that into a 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from apps.org.fields import field_access
from apps.org.models import Department

from ..filters_deals import OpportunityFilter, ProductFilter, QuoteFilter
from ..models import (
    ZERO,
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Product,
    Quote,
    QuoteEvent,
    QuoteLine,
    SalesSettings,
    Stage,
    StageChange,
)
from ..services.deals import stalled_days_for, stalled_reason

User = get_user_model()

OPPORTUNITY_ORDERINGS = (
    "name",
    "amount",
    "probability",
    "expected_close_date",
    "created_at",
    "updated_at",
    "stage_changed_at",
)
QUOTE_ORDERINGS = ("number", "total", "created_at", "valid_until", "status")
BOARD_COLUMN_SIZE = 20
# Above this many deals on one board (scope + filters) the column totals are left out: summing
# a million rows costs about a second even as an index-only scan; below it the covering index
# `sales_opp_board_totals` / `sales_opp_owner_board` answers in milliseconds.
BOARD_TOTALS_CAP = 50_000
FORECAST_MAX_MONTHS = 24


def weighted_sum() -> Sum:
    """Sum of amount × probability / 100 (a fresh expression each time: Django resolves them
    in place)."""
    return Sum(
        ExpressionWrapper(
            F("amount") * F("probability") / Decimal(100),
            output_field=DecimalField(max_digits=18, decimal_places=2),
        )
    )


def kind_label(event) -> str:
    """The readable kind of an event row (the history models store the code only)."""
    kinds = type(event).Kind
    try:
        return str(kinds(event.kind).label)
    except ValueError:
        return event.kind


def _labelled(events: list) -> list:
    for e in events:
        e.label = kind_label(e)
    return events


def _filtered(filterset_class, data, qs, user):
    fs = filterset_class(data or {}, queryset=qs, user=user)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def _ordered(qs, model, ordering: str | None, user, allowed, default: list[str]):
    if not ordering:
        return qs.order_by(*default)
    access = field_access(user, model)
    keys = []
    for part in ordering.split(","):
        part = part.strip()
        name = part.lstrip("-")
        if name in allowed and access.can_view(name):
            keys.append(part)
    return qs.order_by(*keys, "-id") if keys else qs.order_by(*default)


# --- pipelines -----------------------------------------------------------------------------


def pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "id"))


def pipeline_pick(pk) -> Pipeline | None:
    """The asked pipeline (active), else the default one."""
    qs = Pipeline.objects.filter(is_active=True)
    if pk not in (None, "") and str(pk).isdigit():
        found = qs.filter(pk=pk).first()
        if found is not None:
            return found
    return qs.order_by("-is_default", "order", "id").first()


# --- opportunities -------------------------------------------------------------------------


def opportunity_list(
    *, user, filters: Mapping | None = None, ordering: str | None = None
) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.visible_to(user).select_related(
        "customer", "owner", "stage", "pipeline"
    )
    qs = _filtered(OpportunityFilter, filters, qs, user)
    return _ordered(qs, Opportunity, ordering, user, OPPORTUNITY_ORDERINGS, ["-updated_at", "-id"])


def opportunity_get(*, user, pk, action: str = "view") -> Opportunity:
    try:
        return (
            Opportunity.objects.visible_to(user, action)
            .select_related(
                "customer",
                "contact",
                "campaign",
                "owner",
                "department",
                "stage",
                "pipeline",
                "created_by",
            )
            .get(pk=pk)
        )
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@dataclass
class OpportunityPage:
    stage_changes: list = field(default_factory=list)
    events: list = field(default_factory=list)
    quotes: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    stalled: str | None = None
    stalled_days: int = 0


def opportunity_detail(*, user, opportunity: Opportunity) -> OpportunityPage:
    """Stage history, events, the deal's quotes and the pipeline's stages (four queries)."""
    changes = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "actor")
        .order_by("-at", "-id")[:50]
    )
    events = _labelled(
        list(
            OpportunityEvent.objects.filter(opportunity=opportunity)
            .select_related("actor")
            .order_by("-at", "-id")[:30]
        )
    )
    quotes = []
    if user.has_perm("sales.view_quote"):
        quotes = list(
            Quote.objects.visible_to(user)
            .filter(opportunity=opportunity)
            .order_by("-created_at")[:20]
        )
    stages = list(Stage.objects.filter(pipeline_id=opportunity.pipeline_id).order_by("order", "id"))
    days = stalled_days_for(opportunity.stage, SalesSettings.load().stalled_days_default)
    return OpportunityPage(
        stage_changes=changes,
        events=events,
        quotes=quotes,
        stages=stages,
        stalled=stalled_reason(opportunity, days, timezone.now()),
        stalled_days=days,
    )


# --- kanban board --------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list = field(default_factory=list)
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    stalled_days: int = 0
    capped: bool = False  # the board is over BOARD_TOTALS_CAP: count and sums unknown
    per_column: int = BOARD_COLUMN_SIZE

    @property
    def more(self) -> int:
        if self.capped:  # unknown count: offer "more" while the column is full
            return int(len(self.cards) >= self.per_column)
        return max(self.count - len(self.cards), 0)


@dataclass
class Board:
    pipeline: Pipeline | None
    columns: list[Column] = field(default_factory=list)
    capped: bool = False  # more than BOARD_TOTALS_CAP deals: no totals (see board())
    cap: int = BOARD_TOTALS_CAP

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.columns if not c.stage.is_lost), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.columns), ZERO)


def _cards(qs, stage: Stage, days: int, now, *, offset: int, limit: int) -> list[Opportunity]:
    rows = list(
        qs.filter(stage=stage)
        .select_related("customer", "owner")
        .order_by("-updated_at", "-id")[offset : offset + limit]
    )
    for opp in rows:
        opp.stalled = stalled_reason(opp, days, now)
    return rows


def board(
    *, user, pipeline: Pipeline | None, filters: Mapping | None = None, per_column: int = 0
) -> Board:
    """The kanban board: every stage of `pipeline` with its first `per_column` cards (newest
    activity first), its count and its amount and weighted amount.

    Queries: the stages, a LIMITed probe of the deal count, one aggregate for the counts and
    sums (skipped when the board holds more than BOARD_TOTALS_CAP deals: `capped`), one
    LIMITed query per column (the `(stage, -updated_at)` index serves it): constant whatever
    the number of deals.
    """
    per_column = per_column or BOARD_COLUMN_SIZE
    result = Board(pipeline=pipeline)
    if pipeline is None:
        return result
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order", "id"))
    qs = _filtered(
        OpportunityFilter,
        filters,
        Opportunity.objects.visible_to(user).filter(pipeline=pipeline),
        user,
    )
    # One LIMITed probe (an index-only scan of at most CAP + 1 entries) decides whether the
    # totals are affordable; the page then costs the same whatever the number of deals.
    result.capped = qs.order_by().values("pk")[: BOARD_TOTALS_CAP + 1].count() > BOARD_TOTALS_CAP
    sums = (
        {}
        if result.capped
        else {
            row["stage"]: row
            for row in qs.order_by()
            .values("stage")
            .annotate(n=Count("pk"), sum_amount=Sum("amount"), sum_weighted=weighted_sum())
        }
    )
    default = SalesSettings.load().stalled_days_default
    now = timezone.now()
    for stage in stages:
        row = sums.get(stage.pk) or {}
        days = stalled_days_for(stage, default)
        column = Column(
            stage=stage,
            count=row.get("n", 0),
            amount=row.get("sum_amount") or ZERO,
            weighted=row.get("sum_weighted") or ZERO,
            stalled_days=days,
            capped=result.capped,
            per_column=per_column,
        )
        # Every column asks, empty or not, so the page costs the same whatever the data.
        column.cards = _cards(qs, stage, days, now, offset=0, limit=per_column)
        result.columns.append(column)
    return result


def board_column(
    *, user, stage: Stage, filters: Mapping | None = None, offset: int = 0, limit: int = 0
) -> tuple[list[Opportunity], bool]:
    """More cards of one column (the board's "more" button): (cards, whether more remain)."""
    limit = limit or BOARD_COLUMN_SIZE
    qs = _filtered(
        OpportunityFilter,
        filters,
        Opportunity.objects.visible_to(user).filter(pipeline_id=stage.pipeline_id),
        user,
    )
    days = stalled_days_for(stage, SalesSettings.load().stalled_days_default)
    rows = _cards(qs, stage, days, timezone.now(), offset=offset, limit=limit + 1)
    return rows[:limit], len(rows) > limit


def board_card(*, user, opportunity: Opportunity) -> Opportunity:
    """One card re-read after a move (with its stalled flag)."""
    opp = opportunity_get(user=user, pk=opportunity.pk)
    days = stalled_days_for(opp.stage, SalesSettings.load().stalled_days_default)
    opp.stalled = stalled_reason(opp, days, timezone.now())
    return opp


# --- forecast ------------------------------------------------------------------------------


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, n: int) -> dt.date:
    month = day.month - 1 + n
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


@dataclass
class ForecastRow:
    key: int | None
    label: str
    cells: list  # [(amount, weighted, count)] per month
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    count: int = 0


@dataclass
class Forecast:
    months: list[dt.date]
    by: str
    rows: list[ForecastRow]
    totals: list  # [(amount, weighted, count)] per month
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    count: int = 0


def forecast(
    *,
    user,
    filters: Mapping | None = None,
    start: dt.date | None = None,
    months: int = 6,
    by: str = "owner",
) -> Forecast:
    """Weighted forecast of the open deals the user may see: amount, amount × probability and
    count per expected-close month × owner (or department). Two queries: one GROUP BY, one for
    the row labels. Deals without an expected close date or outside the months are left out."""
    if by not in ("owner", "department"):
        raise ValidationError({"by": ["owner or department"]})
    months = max(1, min(int(months or 6), FORECAST_MAX_MONTHS))
    first = _month_start(start or timezone.localdate())
    month_list = [_add_months(first, i) for i in range(months)]
    end = _add_months(first, months)
    qs = _filtered(OpportunityFilter, filters, Opportunity.objects.visible_to(user), user)
    qs = qs.filter(
        status=Opportunity.Status.OPEN,
        expected_close_date__gte=first,
        expected_close_date__lt=end,
    )
    key = "owner_id" if by == "owner" else "department_id"
    grouped = (
        qs.order_by()
        .annotate(month=TruncMonth("expected_close_date"))
        .values(key, "month")
        .annotate(n=Count("pk"), sum_amount=Sum("amount"), sum_weighted=weighted_sum())
    )
    index = {m: i for i, m in enumerate(month_list)}
    rows: dict = {}
    totals = [[ZERO, ZERO, 0] for _m in month_list]
    for r in grouped:
        month = r["month"]
        if isinstance(month, dt.datetime):
            month = month.date()
        i = index.get(month)
        if i is None:
            continue
        row = rows.setdefault(r[key], [[ZERO, ZERO, 0] for _m in month_list])
        amount, weighted = r["sum_amount"] or ZERO, (r["sum_weighted"] or ZERO)
        row[i] = [amount, weighted, r["n"]]
        totals[i][0] += amount
        totals[i][1] += weighted
        totals[i][2] += r["n"]
    ids = [k for k in rows if k is not None]
    if by == "owner":
        labels = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    else:
        labels = {d.pk: d.name for d in Department.objects.filter(pk__in=ids)}
    out = []
    for k, cells in rows.items():
        q2 = Decimal("0.01")
        cells = [(a.quantize(q2), w.quantize(q2), n) for a, w, n in cells]
        out.append(
            ForecastRow(
                key=k,
                label=labels.get(k, "—"),
                cells=cells,
                amount=sum((c[0] for c in cells), ZERO),
                weighted=sum((c[1] for c in cells), ZERO),
                count=sum(c[2] for c in cells),
            )
        )
    out.sort(key=lambda r: (-r.weighted, r.label))
    q2 = Decimal("0.01")
    total_cells = [(a.quantize(q2), w.quantize(q2), n) for a, w, n in totals]
    return Forecast(
        months=month_list,
        by=by,
        rows=out,
        totals=total_cells,
        amount=sum((c[0] for c in total_cells), ZERO),
        weighted=sum((c[1] for c in total_cells), ZERO),
        count=sum(c[2] for c in total_cells),
    )


# --- products and quotes -------------------------------------------------------------------


def product_list(*, user, filters: Mapping | None = None) -> QuerySet[Product]:
    qs = Product.objects.select_related("category")
    return _filtered(ProductFilter, filters, qs, user).order_by("category__order", "name", "id")


def quote_list(
    *, user, filters: Mapping | None = None, ordering: str | None = None
) -> QuerySet[Quote]:
    qs = Quote.objects.visible_to(user).select_related("customer", "owner", "opportunity")
    qs = _filtered(QuoteFilter, filters, qs, user)
    return _ordered(qs, Quote, ordering, user, QUOTE_ORDERINGS, ["-created_at", "-id"])


def quote_get(*, user, pk, action: str = "view") -> Quote:
    try:
        return (
            Quote.objects.visible_to(user, action)
            .select_related(
                "customer",
                "contact",
                "opportunity",
                "owner",
                "department",
                "approval",
                "created_by",
            )
            .prefetch_related(
                Prefetch(
                    "lines",
                    queryset=QuoteLine.objects.select_related("product").order_by("order", "id"),
                )
            )
            .get(pk=pk)
        )
    except (Quote.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def quote_events(*, quote: Quote) -> list[QuoteEvent]:
    return _labelled(
        list(
            QuoteEvent.objects.filter(quote=quote)
            .select_related("actor")
            .order_by("-at", "-id")[:30]
        )
    )


# --- the customer's 360° page and the to-do inbox ------------------------------------------


def customer_opportunities(*, user, customer, limit: int = 10) -> list[Opportunity]:
    return list(
        Opportunity.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("stage", "owner")
        .order_by("-updated_at", "-id")[:limit]
    )


def customer_quotes(*, user, customer, limit: int = 10) -> list[Quote]:
    return list(
        Quote.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("owner")
        .order_by("-created_at", "-id")[:limit]
    )


def stalled_for(user) -> QuerySet[Opportunity]:
    """The user's own open deals the stalled job flagged (to-do inbox)."""
    return Opportunity.objects.filter(
        owner=user, status=Opportunity.Status.OPEN, stalled_warned_at__isnull=False
    ).order_by("stalled_warned_at", "id")
