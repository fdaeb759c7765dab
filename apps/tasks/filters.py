"""The task list filters, shared by the pages and the API.

Query parameters (all optional): `status`, `priority` (repeat for several), `assignee`,
`creator` (user id or "me"), `customer` (id), `parent` (id; `top=true` for top-level tasks
only), `due` (overdue / today / week / none), `due_at__gte`, `due_at__lte`, `q` (title or
description contains), `link_type` ("app_label.model") + `link_id`.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.filtersets import FieldSecuredFilterSetMixin

from .models import Task


class _UserFilter(django_filters.CharFilter):
    """A user id, or "me"."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value == "me":
            return qs.filter(**{self.field_name: getattr(self.parent.request_user, "pk", None)})
        try:
            return qs.filter(**{self.field_name: int(value)})
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Give a user id or “me”.")) from None


DUE_CHOICES = [
    ("overdue", _("Overdue")),
    ("today", _("Due today")),
    ("week", _("Due within 7 days")),
    ("none", _("No due date")),
]


class TaskFilter(FieldSecuredFilterSetMixin, django_filters.FilterSet):
    filter_reads = {"due": "due_at"}

    status = django_filters.MultipleChoiceFilter(choices=Task.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Task.Priority.choices)
    assignee = _UserFilter(field_name="assignee_id", label=_("assignee"))
    creator = _UserFilter(field_name="creator_id", label=_("created by"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("customer"))
    parent = django_filters.NumberFilter(field_name="parent_id", label=_("parent task"))
    top = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label=_("top-level only")
    )
    due = django_filters.ChoiceFilter(choices=DUE_CHOICES, method="filter_due", label=_("due"))
    due_at__gte = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_at__lte = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lte")
    q = django_filters.CharFilter(method="filter_q", label=_("search"))
    link_type = django_filters.CharFilter(method="filter_link_type", label=_("linked record type"))
    link_id = django_filters.NumberFilter(field_name="link_id", label=_("linked record id"))

    class Meta:
        model = Task
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, request_user=None, **kw):
        super().__init__(data=data, queryset=queryset, request=request, **kw)
        self.request_user = request_user or getattr(request, "user", None)
        if request is None:
            self.drop_hidden_filters(self.request_user)

    def filter_due(self, qs, name, value):
        now = timezone.now()
        local = timezone.localtime(now)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if value == "overdue":
            return qs.filter(status__in=Task.OPEN, due_at__lt=now)
        if value == "today":
            return qs.filter(due_at__gte=start, due_at__lt=start + dt.timedelta(days=1))
        if value == "week":
            return qs.filter(
                status__in=Task.OPEN, due_at__gte=now, due_at__lt=now + dt.timedelta(days=7)
            )
        if value == "none":
            return qs.filter(due_at__isnull=True)
        return qs

    def filter_q(self, qs, name, value):
        value = (value or "").strip()[:100]
        if not value:
            return qs
        return qs.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_link_type(self, qs, name, value):
        app_label, _dot, model = (value or "").lower().partition(".")
        ct = ContentType.objects.filter(app_label=app_label, model=model).first()
        if ct is None:
            raise forms.ValidationError(_("Unknown record type."))
        return qs.filter(link_type=ct)
