"""Campaigns (市场活动): create/change/delete, and their results (leads, conversions,
opportunities, won amount, cost per lead, ROI).

Results count every lead and opportunity attributed to the campaign, whoever owns them: a
campaign's figures are the marketing team's numbers, not a rep's view. Only people who may see
the campaign see them (the campaign itself is scoped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.customers.services._common import apply, require
from apps.org.errors import ServiceError

from ..models import ZERO, Campaign, Lead, Opportunity

CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "status",
    "start_date",
    "end_date",
    "budget",
    "cost",
    "description",
    "department",
)


@dataclass(frozen=True)
class CampaignStats:
    leads: int
    converted: int
    opportunities: int
    won_count: int
    won_amount: Decimal
    cost: Decimal

    @property
    def conversion_rate(self) -> Decimal | None:
        if not self.leads:
            return None
        return (Decimal(self.converted) * 100 / self.leads).quantize(Decimal("0.1"))

    @property
    def cost_per_lead(self) -> Decimal | None:
        if not self.leads:
            return None
        return (self.cost / self.leads).quantize(Decimal("0.01"))

    @property
    def roi(self) -> Decimal | None:
        """(won amount − cost) / cost, in percent; None without a cost."""
        if not self.cost:
            return None
        return ((self.won_amount - self.cost) * 100 / self.cost).quantize(Decimal("0.1"))


def _int_sub(qs):
    return Coalesce(Subquery(qs, output_field=IntegerField()), Value(0))


def with_results(qs):
    """Annotate campaigns with `n_leads`, `n_converted`, `n_opportunities`, `n_won`,
    `won_amount` (correlated subqueries: one query for a whole page of campaigns)."""
    leads = Lead.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    opps = Opportunity.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    money = DecimalField(max_digits=16, decimal_places=2)
    return qs.annotate(
        n_leads=_int_sub(leads.annotate(n=Count("pk")).values("n")),
        n_converted=_int_sub(
            leads.filter(status=Lead.Status.CONVERTED).annotate(n=Count("pk")).values("n")
        ),
        n_opportunities=_int_sub(opps.annotate(n=Count("pk")).values("n")),
        n_won=_int_sub(
            opps.filter(status=Opportunity.Status.WON).annotate(n=Count("pk")).values("n")
        ),
        won_amount=Coalesce(
            Subquery(
                opps.filter(status=Opportunity.Status.WON).annotate(s=Sum("amount")).values("s"),
                output_field=money,
            ),
            Value(ZERO),
            output_field=money,
        ),
    )


def stats_of(campaign) -> CampaignStats:
    """Stats from an annotated campaign (`with_results`)."""
    return CampaignStats(
        leads=campaign.n_leads,
        converted=campaign.n_converted,
        opportunities=campaign.n_opportunities,
        won_count=campaign.n_won,
        won_amount=campaign.won_amount or ZERO,
        cost=campaign.cost or ZERO,
    )


def campaign_stats(campaign: Campaign) -> CampaignStats:
    """Results of one campaign (two aggregate queries)."""
    lead_counts = Lead.objects.filter(campaign=campaign).aggregate(
        n=Count("pk"), converted=Count("pk", filter=Q(status=Lead.Status.CONVERTED))
    )
    opp = Opportunity.objects.filter(campaign=campaign).aggregate(
        n=Count("pk"),
        won=Count("pk", filter=Q(status=Opportunity.Status.WON)),
        amount=Sum("amount", filter=Q(status=Opportunity.Status.WON)),
    )
    return CampaignStats(
        leads=lead_counts["n"],
        converted=lead_counts["converted"],
        opportunities=opp["n"],
        won_count=opp["won"],
        won_amount=opp["amount"] or ZERO,
        cost=campaign.cost or ZERO,
    )


def _clean(campaign: Campaign) -> None:
    campaign.full_clean(exclude=["owner"], validate_constraints=False)
    if campaign.start_date and campaign.end_date and campaign.end_date < campaign.start_date:
        raise ServiceError(_("The campaign cannot end before it starts."), field="end_date")


@transaction.atomic
def campaign_create(*, by, data: Mapping, owner=None) -> Campaign:
    require(by, "sales.add_campaign")
    owner = owner or data.get("owner") or by
    campaign = Campaign(owner=owner)
    apply(campaign, data, CAMPAIGN_FIELDS)
    if campaign.department_id is None and owner is not None:
        campaign.department_id = owner.department_id
    _clean(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, by, data: Mapping) -> Campaign:
    require(by, "sales.change_campaign", campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    changes = apply(campaign, data, CAMPAIGN_FIELDS)
    if changes:
        _clean(campaign)
        campaign.save(update_fields=[*changes, "updated_at"])
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign, by) -> None:
    require(by, "sales.delete_campaign", campaign)
    if Lead.objects.filter(campaign=campaign).exists():
        raise ServiceError(_("This campaign has leads; mark it cancelled or finished instead."))
    campaign.delete()
