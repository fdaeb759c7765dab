"""django-filter FilterSets of the customers app: the list pages and the API share them.

Query parameters (all optional): `owner` (user id; `owner=me`), `department` (id),
`department_tree` (id: the department and those below), `level`, `status`, `industry`,
`source` (repeat for several), `province`, `city`, `region`, `territory`, `tags` (comma
separated names: any of them), `in_pool` (true/false), `created_at__gte/__lte`,
`last_contacted_at__gte/__lte`, `next_follow_up_at__gte/__lte`, `q` (the search of
`apps.customers.search`), and `custom__<key>` for custom fields.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.org.fields import field_access
from apps.org.scopes import department_tree_ids
from apps.studio.filters import CustomFieldsFilterSetMixin

from .models import PROVINCE_CHOICES, Contact, Customer, FollowUp, Ticket
from .search import contact_search_q, customer_search_q

DATE_LOOKUPS = ["gte", "lte"]


class _OwnerFilter(django_filters.CharFilter):
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


class _ScopedFilterSet(CustomFieldsFilterSetMixin, django_filters.FilterSet):
    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        if request is None and user is not None:
            request = _UserOnly(user)
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)

    def _access(self):
        user = getattr(self.request, "user", None)
        return field_access(user, self._meta.model) if user is not None else None


class _UserOnly:
    """What a FilterSet needs of a request when a selector runs without one."""

    def __init__(self, user):
        self.user = user


class CustomerFilter(_ScopedFilterSet):
    owner = _OwnerFilter(field_name="owner_id", label=_("owner"))
    department_tree = django_filters.NumberFilter(
        method="filter_department_tree", label=_("department and below")
    )
    level = django_filters.MultipleChoiceFilter(choices=Customer.Level.choices)
    status = django_filters.MultipleChoiceFilter(choices=Customer.Status.choices)
    industry = django_filters.MultipleChoiceFilter(choices=Customer.Industry.choices)
    source = django_filters.MultipleChoiceFilter(choices=Customer.Source.choices)
    province = django_filters.ChoiceFilter(choices=PROVINCE_CHOICES)
    tags = django_filters.CharFilter(method="filter_tags", label=_("tags"))
    in_pool = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull")
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Customer
        fields = {
            "department": ["exact"],
            "city": ["exact"],
            "region": ["exact"],
            "territory": ["exact"],
            "created_at": DATE_LOOKUPS,
            "last_contacted_at": DATE_LOOKUPS,
            "next_follow_up_at": DATE_LOOKUPS,
        }

    def filter_department_tree(self, qs, name, value):
        return qs.filter(department_id__in=sorted(department_tree_ids(int(value))))

    def filter_tags(self, qs, name, value):
        names = [n.strip() for n in value.replace("，", ",").split(",") if n.strip()]
        return qs.with_tag(*names) if names else qs

    def filter_q(self, qs, name, value):
        access = self._access()
        return qs.filter(customer_search_q(value, access) if access else customer_search_q(value))


class PoolFilter(_ScopedFilterSet):
    """Filters of the public pool page."""

    level = django_filters.MultipleChoiceFilter(choices=Customer.Level.choices)
    industry = django_filters.MultipleChoiceFilter(choices=Customer.Industry.choices)
    source = django_filters.MultipleChoiceFilter(choices=Customer.Source.choices)
    province = django_filters.ChoiceFilter(choices=PROVINCE_CHOICES)
    previous_owner = _OwnerFilter(field_name="previous_owner_id", label=_("previous owner"))
    tags = django_filters.CharFilter(method="filter_tags", label=_("tags"))
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Customer
        fields = {
            "city": ["exact"],
            "region": ["exact"],
            "pool_entered_at": DATE_LOOKUPS,
            "last_contacted_at": DATE_LOOKUPS,
        }

    filter_tags = CustomerFilter.filter_tags
    filter_q = CustomerFilter.filter_q


class ContactFilter(_ScopedFilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("search"))

    class Meta:
        model = Contact
        fields = ["customer", "is_primary", "reports_to"]

    def filter_q(self, qs, name, value):
        access = self._access()
        return qs.filter(contact_search_q(value, access) if access else contact_search_q(value))


class FollowUpFilter(_ScopedFilterSet):
    owner = _OwnerFilter(field_name="owner_id", label=_("by"))
    kind = django_filters.MultipleChoiceFilter(choices=FollowUp.Kind.choices)

    class Meta:
        model = FollowUp
        fields = {
            "customer": ["exact"],
            "contact": ["exact"],
            "opportunity_id": ["exact"],
            "occurred_at": DATE_LOOKUPS,
            "next_follow_up_at": DATE_LOOKUPS,
        }


class TicketFilter(_ScopedFilterSet):
    assignee = _OwnerFilter(field_name="assignee_id", label=_("assignee"))
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Ticket.Priority.choices)
    open = django_filters.BooleanFilter(method="filter_open", label=_("open"))

    class Meta:
        model = Ticket
        fields = {
            "customer": ["exact"],
            "department": ["exact"],
            "is_overdue": ["exact"],
            "contract_id": ["exact"],
            "created_at": DATE_LOOKUPS,
            "sla_due_at": DATE_LOOKUPS,
        }

    def filter_open(self, qs, name, value):
        if value is None:
            return qs
        done = [Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
        return qs.exclude(status__in=done) if value else qs.filter(status__in=done)
