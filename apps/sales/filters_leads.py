"""django-filter FilterSets of leads and campaigns (pages and API share them), and the lead
search (`?search=` / `?q=`).

Lead parameters (all optional): `owner` (user id, `me`, or `none` for unassigned), `status`,
`source`, `channel`, `industry` (repeat for several), `campaign`, `form`, `province`,
`department`, `duplicate` (true: flagged duplicates only; false: originals only), `stale`
(true: not contacted within the company's contact window), `created_at__gte/__lte`, `q`
(search), and `custom__<key>` for custom fields.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.customers.filters import _ScopedFilterSet
from apps.customers.models import PROVINCE_CHOICES
from apps.customers.normalize import digits, normalize_name, normalize_query
from apps.org.fields import FULL_ACCESS, FieldAccess

from .models import Campaign, Channel, Lead, LeadSource

MIN_CONTAINS = 3
MAX_QUERY = 100


def lead_search_branches(text: str, access: FieldAccess = FULL_ACCESS) -> list[Q]:
    """What a lead may match `text` by — company (normalised, contains from 3 characters),
    its pinyin and initials, the contact's name (prefix), mobile digits and e-mail (prefix) —
    each an indexed look-up; fields hidden from the caller are never searched."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    if "@" in text:
        return [Q(email__startswith=text.lower())] if access.can_view("email") else []
    branches = []
    if access.can_view("company"):
        key = normalize_name(text)
        if key:
            if len(key) >= MIN_CONTAINS:
                branches.append(Q(company_normalized__contains=key))
            else:
                branches.append(Q(company_normalized__startswith=key))
        plain = normalize_query(text)
        if plain and plain.isascii() and plain.isalpha():
            branches.append(Q(company_initials__startswith=plain))
            if len(plain) >= MIN_CONTAINS:
                branches.append(Q(company_pinyin__contains=plain))
            else:
                branches.append(Q(company_pinyin__startswith=plain))
    if access.can_view("contact_name"):
        branches.append(Q(contact_name__startswith="".join(text.split())))
    phone = digits(text)
    if access.can_view("mobile") and len(phone) >= 3 and len(phone) >= len(text) // 2:
        branches.append(Q(mobile_digits__startswith=phone))
    if access.can_view("email") and text.isascii() and len(text) >= 3 and not phone:
        branches.append(Q(email__startswith=text.lower()))
    return branches


def lead_search_q(text: str, access: FieldAccess = FULL_ACCESS) -> Q:
    q = Q(pk__in=[])
    for branch in lead_search_branches(text, access):
        q |= branch
    return q


class _OwnerOrNone(django_filters.CharFilter):
    """A user id, "me", or "none" (unassigned)."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value == "me":
            return qs.filter(owner_id=getattr(getattr(self.parent.request, "user", None), "pk", 0))
        if value == "none":
            return qs.filter(owner__isnull=True)
        try:
            return qs.filter(owner_id=int(value))
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Give a user id, “me” or “none”.")) from None


class LeadFilter(_ScopedFilterSet):
    owner = _OwnerOrNone(label=_("owner"))
    status = django_filters.MultipleChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.MultipleChoiceFilter(choices=LeadSource.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    industry = django_filters.MultipleChoiceFilter(choices=Lead.Industry.choices)
    province = django_filters.ChoiceFilter(choices=PROVINCE_CHOICES)
    duplicate = django_filters.BooleanFilter(
        field_name="duplicate_of", lookup_expr="isnull", exclude=True, label=_("duplicate")
    )
    stale = django_filters.BooleanFilter(method="filter_stale", label=_("not contacted in time"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("open"))
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Lead
        fields = {
            "campaign": ["exact"],
            "form": ["exact"],
            "department": ["exact"],
            "territory": ["exact"],
            "created_at": ["gte", "lte"],
        }

    def filter_stale(self, qs, name, value):
        if value is None:
            return qs
        from .models import SalesSettings

        cutoff = timezone.now() - dt.timedelta(hours=SalesSettings.load().lead_contact_hours)
        stale = Q(status=Lead.Status.NEW, created_at__lt=cutoff) | Q(
            status=Lead.Status.ASSIGNED, assigned_at__lt=cutoff
        )
        return qs.filter(stale) if value else qs.exclude(stale)

    def filter_open(self, qs, name, value):
        if value is None:
            return qs
        closed = [Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED]
        return qs.exclude(status__in=closed) if value else qs.filter(status__in=closed)

    def filter_q(self, qs, name, value):
        access = self._access() or FULL_ACCESS
        return qs.filter(lead_search_q(value, access))


class CampaignFilter(_ScopedFilterSet):
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    status = django_filters.MultipleChoiceFilter(choices=Campaign.Status.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("search"))

    class Meta:
        model = Campaign
        fields = {
            "owner": ["exact"],
            "department": ["exact"],
            "start_date": ["gte", "lte"],
            "end_date": ["gte", "lte"],
        }
