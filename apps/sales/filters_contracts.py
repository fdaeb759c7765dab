"""django-filter FilterSets of the money area; the list pages, the exports and the API share them.

Contracts: `status`, `delivery_status` (repeat for several), `owner` (id or "me"),
`customer`, `opportunity`, `department`, `signed_date__gte/__lte`, `created_at__gte/__lte`,
`amount__gte/__lte`, `has_receivable` (true/false), `q` (number, title or customer name) and
`custom__<key>`. Payments: `contract`, `customer`, `method`, `received_at__gte/__lte`, `q`.
Invoices: `contract`, `customer`, `status`, `kind`, `issued_date__gte/__lte`, `q`.
Filters on a field the user may not see are refused by the API (`ScopedQuerysetMixin`) and
ignored on pages.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.org.filtersets import FieldSecuredFilterSetMixin
from apps.studio.filters import CustomFieldsFilterSetMixin

from .models import Contract, Invoice, Payment

DATE_LOOKUPS = ["gte", "lte"]


class _UserOnly:
    def __init__(self, user):
        self.user = user


class _UserInit:
    """Lets a selector pass `user=` instead of a request (the FilterSet only reads the user)."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        if request is None and user is not None:
            request = _UserOnly(user)
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)


class OwnerFilter(django_filters.CharFilter):
    """A user id, or "me"."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value == "me":
            user = getattr(self.parent.request, "user", None)
            return qs.filter(**{self.field_name: getattr(user, "pk", None)})
        try:
            return qs.filter(**{self.field_name: int(value)})
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Give a user id or “me”.")) from None


class ContractFilter(_UserInit, CustomFieldsFilterSetMixin, django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Contract.Status.choices)
    delivery_status = django_filters.MultipleChoiceFilter(choices=Contract.Delivery.choices)
    owner = OwnerFilter(field_name="owner_id", label=_("owner"))
    has_receivable = django_filters.BooleanFilter(
        method="filter_receivable", label=_("money still to receive")
    )
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Contract
        fields = {
            "customer": ["exact"],
            "opportunity": ["exact"],
            "department": ["exact"],
            "signed_date": DATE_LOOKUPS,
            "created_at": DATE_LOOKUPS,
            "amount": DATE_LOOKUPS,
        }

    def filter_receivable(self, qs, name, value):
        if value is None:
            return qs
        more = Q(received_amount__lt=F("amount"))
        return qs.filter(more) if value else qs.exclude(more)

    def filter_q(self, qs, name, value):
        value = value.strip()[:100]
        if not value:
            return qs
        return qs.filter(
            Q(number__icontains=value)
            | Q(title__icontains=value)
            | Q(customer__name__icontains=value)
        )


class PaymentFilter(_UserInit, FieldSecuredFilterSetMixin, django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="contract__customer_id", label=_("customer"))
    method = django_filters.MultipleChoiceFilter(choices=Payment.Method.choices)
    owner = OwnerFilter(field_name="contract__owner_id", label=_("owner"))
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Payment
        fields = {"contract": ["exact"], "received_at": DATE_LOOKUPS, "plan": ["exact"]}

    def filter_q(self, qs, name, value):
        value = value.strip()[:100]
        if not value:
            return qs
        return qs.filter(
            Q(contract__number__icontains=value)
            | Q(contract__customer__name__icontains=value)
            | Q(reference__icontains=value)
        )


class InvoiceFilter(_UserInit, FieldSecuredFilterSetMixin, django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="contract__customer_id", label=_("customer"))
    status = django_filters.MultipleChoiceFilter(choices=Invoice.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Invoice.Kind.choices)
    owner = OwnerFilter(field_name="contract__owner_id", label=_("owner"))
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Invoice
        fields = {"contract": ["exact"], "issued_date": DATE_LOOKUPS, "created_at": DATE_LOOKUPS}

    def filter_q(self, qs, name, value):
        value = value.strip()[:100]
        if not value:
            return qs
        return qs.filter(
            Q(contract__number__icontains=value)
            | Q(title__icontains=value)
            | Q(invoice_number__icontains=value)
            | Q(contract__customer__name__icontains=value)
        )
