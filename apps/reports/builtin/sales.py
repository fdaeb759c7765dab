"""Sales reports: funnel, rep leaderboard, lead sources and campaign ROI."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from apps.customers.models import Customer, FollowUp
from apps.sales.models import (
    Campaign,
    Contract,
    Lead,
    Opportunity,
    Payment,
    Pipeline,
)

from ..models import SalesTarget
from ..params import ReportParams
from ..results import Chart, Column, ReportResult, Section
from ._common import ZERO, choice_label, money, ratio, scoped, user_names


def default_pipeline():
    return (
        Pipeline.objects.filter(is_default=True).first()
        or Pipeline.objects.filter(is_active=True).order_by("order", "id").first()
    )


def funnel(user, p: ReportParams) -> ReportResult:
    """Opportunities created in the period, per stage of one pipeline.

    "count"/"amount": deals now at the stage. "reached": deals that got at least that far —
    now at that stage or a later one, or lost after leaving it (the stage a lost deal was in
    when it was lost comes from its stage history). Conversion = reached(next) / reached.
    """
    pipeline = p.pipeline or default_pipeline()
    stages = list(pipeline.stages.order_by("order", "id")) if pipeline else []
    qs = scoped(Opportunity, user, p, date="created_at").filter(pipeline=pipeline)
    # One GROUP BY: deals per (stage now, open stage a lost deal was lost at). The second key
    # is the column `opportunity_move` writes, so no stage-history probe per lost deal.
    by_stage: dict = {}
    lost_at: dict = {}
    order_of = {s.pk: s.order for s in stages}
    lost_ids = {s.pk for s in stages if s.is_lost}
    for r in qs.values("stage", "lost_from_stage").annotate(n=Count("id"), amount=Sum("amount")):
        row = by_stage.setdefault(r["stage"], {"n": 0, "amount": ZERO})
        row["n"] += r["n"]
        row["amount"] += r["amount"] or ZERO
        if r["stage"] in lost_ids:
            # lost from a stage of another pipeline (or a deleted one): the first stage
            order = order_of.get(r["lost_from_stage"])
            lost_at[order] = lost_at.get(order, 0) + r["n"]
    open_stages = [s for s in stages if not s.is_lost]
    first_order = open_stages[0].order if open_stages else 0
    rows = []
    reached_list = []
    for s in open_stages:
        reached = sum(by_stage.get(o.pk, {}).get("n", 0) for o in open_stages if o.order >= s.order)
        reached += sum(
            n
            for order, n in lost_at.items()
            if (first_order if order is None else order) >= s.order
        )
        reached_list.append(reached)
    for i, s in enumerate(open_stages):
        row = by_stage.get(s.pk, {})
        amount = money(row.get("amount"))
        rows.append(
            {
                "stage": s.name,
                "stage_id": s.pk,
                "probability": s.probability,
                "count": row.get("n", 0),
                "amount": amount,
                "weighted": money(amount * s.probability / Decimal(100)),
                "reached": reached_list[i],
                "conversion": (
                    ratio(reached_list[i + 1], reached_list[i])
                    if i + 1 < len(open_stages)
                    else None
                ),
            }
        )
    for s in stages:
        if s.is_lost:
            row = by_stage.get(s.pk, {})
            rows.append(
                {
                    "stage": s.name,
                    "stage_id": s.pk,
                    "probability": s.probability,
                    "count": row.get("n", 0),
                    "amount": money(row.get("amount")),
                    "weighted": ZERO,
                    "reached": None,
                    "conversion": None,
                }
            )
    amount_col = ((Opportunity, "amount"),)
    section = Section(
        key="stages",
        title=_("Pipeline %(name)s") % {"name": pipeline.name} if pipeline else _("No pipeline"),
        columns=[
            Column("stage", _("Stage")),
            Column("probability", _("Win probability (%)"), "int"),
            Column("count", _("Deals at the stage"), "int"),
            Column("amount", _("Amount"), "money", amount_col),
            Column("weighted", _("Weighted amount"), "money", amount_col),
            Column("reached", _("Reached the stage"), "int"),
            Column("conversion", _("Conversion to next stage (%)"), "percent"),
        ],
        rows=rows,
        chart=Chart("funnel", "stage", ["reached"]),
        totals={
            "stage": _("Total"),
            "count": sum(r["count"] for r in rows),
            "amount": money(sum((r["amount"] for r in rows), ZERO)),
            "weighted": money(sum((r["weighted"] for r in rows), ZERO)),
        },
    )
    amounts = Section(
        key="amounts",
        title=_("Amount per stage"),
        columns=[
            Column("stage", _("Stage")),
            Column("count", _("Deals at the stage"), "int"),
            Column("amount", _("Amount"), "money", amount_col),
        ],
        rows=[
            {
                "stage": r["stage"],
                "stage_id": r["stage_id"],
                "count": r["count"],
                "amount": r["amount"],
            }
            for r in rows
        ],
        chart=Chart("bar", "stage", ["count", "amount"]),
    )
    return ReportResult("funnel", _("Sales funnel"), [section, amounts])


def leaderboard(user, p: ReportParams) -> ReportResult:
    """Per person: won deals, contracts signed, payments received, new customers, follow-ups
    in the period, and the contract amount against the person's monthly targets."""
    won = {
        r["owner"]: r
        for r in scoped(Opportunity, user, p, date="closed_at")
        .filter(status=Opportunity.Status.WON)
        .values("owner")
        .annotate(n=Count("id"), amount=Sum("amount"))
    }
    contracts = {
        r["owner"]: r
        for r in scoped(Contract, user, p, date="signed_date", is_datetime=False)
        .active()
        .values("owner")
        .annotate(n=Count("id"), amount=Sum("amount"))
    }
    payments = {
        r["contract__owner"]: r["amount"]
        for r in scoped(
            Payment,
            user,
            p,
            date="received_at",
            is_datetime=False,
            owner="contract__owner",
            dept="contract__department",
        )
        .values("contract__owner")
        .annotate(amount=Sum("amount"))
    }
    customers = {
        r["owner"]: r["n"]
        for r in scoped(Customer, user, p, date="created_at")
        .filter(owner__isnull=False)
        .values("owner")
        .annotate(n=Count("id"))
    }
    follow_ups = {
        r["owner"]: r["n"]
        for r in scoped(FollowUp, user, p, date="occurred_at", dept="owner__department")
        .values("owner")
        .annotate(n=Count("id"))
    }
    people = set(won) | set(contracts) | set(payments) | set(customers) | set(follow_ups)
    people.discard(None)
    targets_qs = SalesTarget.objects.filter(user_id__in=people)
    if p.start:
        targets_qs = targets_qs.filter(month__gte=p.start.replace(day=1))
    if p.end:
        targets_qs = targets_qs.filter(month__lt=p.end)
    targets = {
        r["user"]: r["amount"]
        for r in targets_qs.order_by().values("user").annotate(amount=Sum("amount"))
    }
    names = user_names(people)
    rows = []
    for pk in people:
        contract_amount = money(contracts.get(pk, {}).get("amount"))
        target = targets.get(pk)
        rows.append(
            {
                "person": names.get(pk, str(pk)),
                "person_id": pk,
                "won_count": won.get(pk, {}).get("n", 0),
                "won_amount": money(won.get(pk, {}).get("amount")),
                "contracts": contracts.get(pk, {}).get("n", 0),
                "contract_amount": contract_amount,
                "payments": money(payments.get(pk)),
                "new_customers": customers.get(pk, 0),
                "follow_ups": follow_ups.get(pk, 0),
                "target": money(target) if target is not None else None,
                "achievement": ratio(contract_amount, target) if target else None,
            }
        )
    rows.sort(key=lambda r: (-r["contract_amount"], -r["won_amount"], r["person"]))
    opp_amount = ((Opportunity, "amount"),)
    contract_amount = ((Contract, "amount"),)
    section = Section(
        key="people",
        title=_("Leaderboard"),
        columns=[
            Column("person", _("Person")),
            Column("won_count", _("Deals won"), "int"),
            Column("won_amount", _("Won amount"), "money", opp_amount),
            Column("contracts", _("Contracts"), "int"),
            Column("contract_amount", _("Contract amount"), "money", contract_amount),
            Column("payments", _("Payments received"), "money", ((Payment, "amount"),)),
            Column("new_customers", _("New customers"), "int"),
            Column("follow_ups", _("Follow-ups"), "int"),
            Column("target", _("Target"), "money"),
            Column("achievement", _("Target reached (%)"), "percent", contract_amount),
        ],
        rows=rows,
        chart=Chart("bar", "person", ["contract_amount", "payments", "target"]),
        totals={
            "person": _("Total"),
            **{
                key: sum((r[key] or 0) for r in rows)
                for key in (
                    "won_count",
                    "won_amount",
                    "contracts",
                    "contract_amount",
                    "payments",
                    "new_customers",
                    "follow_ups",
                )
            },
        },
    )
    return ReportResult("leaderboard", _("Rep leaderboard"), [section])


def lead_sources(user, p: ReportParams) -> ReportResult:
    """Leads created in the period by source, and campaigns running in the period with their
    leads, conversions, won revenue and return on cost."""
    leads = scoped(Lead, user, p, date="created_at")
    converted = Count("id", filter=Q(status=Lead.Status.CONVERTED))
    source_rows = []
    for r in leads.values("source").annotate(n=Count("id"), converted=converted).order_by("-n"):
        source_rows.append(
            {
                "source": choice_label(Lead.Source.choices, r["source"]),
                "leads": r["n"],
                "converted": r["converted"],
                "rate": ratio(r["converted"], r["n"]),
            }
        )
    sources = Section(
        key="sources",
        title=_("Leads by source"),
        columns=[
            Column("source", _("Source")),
            Column("leads", _("Leads"), "int"),
            Column("converted", _("Converted"), "int"),
            Column("rate", _("Conversion rate (%)"), "percent"),
        ],
        rows=source_rows,
        chart=Chart("bar", "source", ["leads", "converted"]),
        totals={
            "source": _("Total"),
            "leads": sum(r["leads"] for r in source_rows),
            "converted": sum(r["converted"] for r in source_rows),
        },
    )
    campaigns = Campaign.objects.visible_to(user).order_by("-start_date", "-id")
    if p.end:
        campaigns = campaigns.filter(Q(start_date__lt=p.end) | Q(start_date__isnull=True))
    if p.start:
        campaigns = campaigns.filter(Q(end_date__gte=p.start) | Q(end_date__isnull=True))
    if p.department is not None:
        campaigns = campaigns.filter(department_id__in=p.department_ids)
    if p.owner is not None:
        campaigns = campaigns.filter(owner=p.owner)
    campaigns = list(campaigns.only("pk", "name", "channel", "cost")[:200])
    ids = [c.pk for c in campaigns]
    lead_counts = {
        r["campaign"]: r
        for r in Lead.objects.visible_to(user)
        .filter(campaign_id__in=ids)
        .order_by()
        .values("campaign")
        .annotate(n=Count("id"), converted=converted)
    }
    won = {
        r["campaign"]: r
        for r in Opportunity.objects.visible_to(user)
        .filter(campaign_id__in=ids, status=Opportunity.Status.WON)
        .order_by()
        .values("campaign")
        .annotate(n=Count("id"), amount=Sum("amount"))
    }
    campaign_rows = []
    for c in campaigns:
        won_amount = money(won.get(c.pk, {}).get("amount"))
        campaign_rows.append(
            {
                "campaign": c.name,
                "channel": choice_label(Campaign._meta.get_field("channel").choices, c.channel),
                "cost": money(c.cost),
                "leads": lead_counts.get(c.pk, {}).get("n", 0),
                "converted": lead_counts.get(c.pk, {}).get("converted", 0),
                "won_deals": won.get(c.pk, {}).get("n", 0),
                "won_amount": won_amount,
                "roi": ratio(won_amount - c.cost, c.cost) if c.cost else None,
            }
        )
    roi = Section(
        key="campaigns",
        title=_("Campaign ROI"),
        columns=[
            Column("campaign", _("Campaign")),
            Column("channel", _("Channel")),
            Column("cost", _("Cost"), "money", ((Campaign, "cost"),)),
            Column("leads", _("Leads"), "int"),
            Column("converted", _("Converted"), "int"),
            Column("won_deals", _("Deals won"), "int"),
            Column("won_amount", _("Won amount"), "money", ((Opportunity, "amount"),)),
            Column("roi", _("ROI (%)"), "percent", ((Campaign, "cost"), (Opportunity, "amount"))),
        ],
        rows=campaign_rows,
        chart=Chart("bar", "campaign", ["cost", "won_amount"]),
    )
    return ReportResult("lead-sources", _("Lead sources and campaign ROI"), [sources, roi])
