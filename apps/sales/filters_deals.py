"""django-filter FilterSets of the deals area: the list pages, the board and the API share them.

Opportunities: `q` (name or customer name), `pipeline`, `stage`, `status` (repeatable),
`owner` (id or "me"), `department`, `customer`, `expected_close_date__gte/__lte`,
`amount__gte/__lte`, `stalled` (true: open deals flagged by the stalled job), `custom__<key>`.
Quotes: `q` (number or title), `status`, `owner`, `customer`, `opportunity`, `created_at` range.
Products: `q` (SKU or name), `category`, `is_active`.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.customers.filters import _OwnerFilter, _ScopedFilterSet

from .models import Opportunity, Product, Quote

DATE_LOOKUPS = ["gte", "lte"]


class OpportunityFilter(_ScopedFilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("search"))
    owner = _OwnerFilter(field_name="owner_id", label=_("owner"))
    status = django_filters.MultipleChoiceFilter(choices=Opportunity.Status.choices)
    stalled = django_filters.BooleanFilter(method="filter_stalled", label=_("stalled"))

    class Meta:
        model = Opportunity
        fields = {
            "pipeline": ["exact"],
            "stage": ["exact"],
            "customer": ["exact"],
            "department": ["exact"],
            "campaign": ["exact"],
            "expected_close_date": DATE_LOOKUPS,
            "amount": DATE_LOOKUPS,
            "created_at": DATE_LOOKUPS,
        }

    def filter_q(self, qs, name, value):
        value = (value or "").strip()[:100]
        if not value:
            return qs
        return qs.filter(Q(name__icontains=value) | Q(customer__name__icontains=value))

    def filter_stalled(self, qs, name, value):
        if value is None:
            return qs
        flagged = Q(status=Opportunity.Status.OPEN, stalled_warned_at__isnull=False)
        return qs.filter(flagged) if value else qs.exclude(flagged)


class QuoteFilter(_ScopedFilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("search"))
    owner = _OwnerFilter(field_name="owner_id", label=_("owner"))
    status = django_filters.MultipleChoiceFilter(choices=Quote.Status.choices)

    class Meta:
        model = Quote
        fields = {
            "customer": ["exact"],
            "opportunity": ["exact"],
            "department": ["exact"],
            "created_at": DATE_LOOKUPS,
            "total": DATE_LOOKUPS,
        }

    def filter_q(self, qs, name, value):
        value = (value or "").strip()[:100]
        if not value:
            return qs
        return qs.filter(
            Q(number__icontains=value)
            | Q(title__icontains=value)
            | Q(customer__name__icontains=value)
        )


class ProductFilter(_ScopedFilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Product
        fields = {"category": ["exact"], "is_active": ["exact"], "price": DATE_LOOKUPS}

    def filter_q(self, qs, name, value):
        value = (value or "").strip()[:100]
        if not value:
            return qs
        return qs.filter(Q(sku__icontains=value) | Q(name__icontains=value))
