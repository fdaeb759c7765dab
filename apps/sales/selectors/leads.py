"""Reads of leads and campaigns, scoped to the user (`visible_to`) and shaped for a fixed
number of queries. A record outside the user's scope is never returned (pages and the API turn
"not found" into a 404)."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from apps.org.fields import field_access

from ..filters_leads import CampaignFilter, LeadFilter
from ..models import Campaign, Lead, LeadEvent
from ..services.leads_campaigns import with_results

LEAD_ORDERINGS = (
    "company",
    "contact_name",
    "status",
    "source",
    "province",
    "created_at",
    "assigned_at",
    "last_contacted_at",
)
CAMPAIGN_ORDERINGS = ("name", "start_date", "end_date", "cost", "budget", "status")


def _filtered(filterset_class, data, qs, user):
    fs = filterset_class(data or {}, queryset=qs, user=user)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def _ordered(qs, ordering, user, model, allowed, default):
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


def lead_list_base(user) -> QuerySet[Lead]:
    return Lead.objects.visible_to(user).select_related("owner", "campaign", "duplicate_of")


def lead_list(*, user, filters: Mapping | None = None, ordering: str | None = None):
    """Leads the user may see, filtered (`LeadFilter`) and sorted (keys in LEAD_ORDERINGS)."""
    qs = _filtered(LeadFilter, filters, lead_list_base(user), user)
    return _ordered(qs, ordering, user, Lead, LEAD_ORDERINGS, ["-created_at", "-id"])


def lead_get(*, user, pk, action: str = "view") -> Lead:
    try:
        return (
            Lead.objects.visible_to(user, action)
            .select_related(
                "owner",
                "department",
                "campaign",
                "form",
                "territory",
                "created_by",
                "duplicate_of",
                "duplicate_customer",
                "converted_customer",
                "converted_contact",
                "converted_opportunity",
                "assignment_rule",
            )
            .get(pk=pk)
        )
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def lead_history(lead: Lead, limit: int = 50) -> list[LeadEvent]:
    return list(lead.events.select_related("actor").order_by("-at", "-id")[:limit])


def lead_duplicates(*, user, lead: Lead, limit: int = 20) -> list[Lead]:
    """Leads flagged as duplicates of `lead` that the user may see."""
    return list(
        Lead.objects.visible_to(user)
        .filter(duplicate_of=lead)
        .select_related("owner")
        .order_by("-created_at")[:limit]
    )


def leads_waiting(*, user, limit: int = 10):
    """The user's leads not contacted yet, oldest assignment first (to-do inbox)."""
    return (
        Lead.objects.filter(owner=user, status__in=[Lead.Status.NEW, Lead.Status.ASSIGNED])
        .only("pk", "company", "contact_name", "assigned_at", "created_at", "status")
        .order_by("assigned_at", "pk")
    )


def campaign_list(*, user, filters: Mapping | None = None, ordering: str | None = None):
    qs = with_results(Campaign.objects.visible_to(user).select_related("owner"))
    qs = _filtered(CampaignFilter, filters, qs, user)
    return _ordered(qs, ordering, user, Campaign, CAMPAIGN_ORDERINGS, ["-start_date", "-id"])


def campaign_get(*, user, pk, action: str = "view") -> Campaign:
    try:
        return (
            Campaign.objects.visible_to(user, action)
            .select_related("owner", "department")
            .get(pk=pk)
        )
    except (Campaign.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
