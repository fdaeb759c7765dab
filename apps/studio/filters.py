"""Custom-field filters on any django-filter FilterSet, with one mixin.

Adds `custom__<key>` (exact; "contains" for multi-choice) and, for numbers and dates,
`custom__<key>__gte` / `custom__<key>__lte`. Hidden fields (field security) are left out.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import DecimalField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from apps.org.fields import field_access
from apps.org.filtersets import FieldSecuredFilterSetMixin

from .models import FieldType
from .registry import definitions_for


def _decimal_filter(key: str, lookup: str):
    def method(queryset, name, value):
        alias = f"_cf_{key}"
        return queryset.alias(
            **{
                alias: Cast(
                    KeyTextTransform(key, "custom"), DecimalField(max_digits=30, decimal_places=6)
                )
            }
        ).filter(**{f"{alias}__{lookup}": value})

    return method


class _IntegerFilter(django_filters.NumberFilter):
    # NumberFilter cleans to Decimal, which a JSON key look-up cannot encode (TypeError -> 500).
    field_class = forms.IntegerField


class CustomFieldsFilterSetMixin(FieldSecuredFilterSetMixin):
    # Built-in filters on hidden fields are dropped by FieldSecuredFilterSetMixin.
    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        model = self._meta.model
        user = getattr(request, "user", None)
        access = field_access(user, model) if user is not None else None
        for d in definitions_for(model):
            if access is not None and not access.can_view(d.key):
                continue
            base = f"custom__{d.key}"
            t = d.type
            if t == FieldType.MULTICHOICE:
                self.filters[base] = django_filters.CharFilter(
                    field_name=base, method=self._multichoice(d.key), label=d.label
                )
            elif t == FieldType.BOOLEAN:
                self.filters[base] = django_filters.BooleanFilter(field_name=base, label=d.label)
            elif t == FieldType.INTEGER:
                self.filters[base] = _IntegerFilter(field_name=base, label=d.label)
                for lookup in ("gte", "lte"):
                    self.filters[f"{base}__{lookup}"] = _IntegerFilter(
                        field_name=base, lookup_expr=lookup, label=f"{d.label} ({lookup})"
                    )
            elif t == FieldType.DECIMAL:
                for lookup in ("exact", "gte", "lte"):
                    name = base if lookup == "exact" else f"{base}__{lookup}"
                    self.filters[name] = django_filters.NumberFilter(
                        method=_decimal_filter(d.key, lookup), label=d.label
                    )
            elif t in (FieldType.DATE, FieldType.DATETIME):
                self.filters[base] = django_filters.CharFilter(field_name=base, label=d.label)
                for lookup in ("gte", "lte"):
                    self.filters[f"{base}__{lookup}"] = django_filters.CharFilter(
                        field_name=base, lookup_expr=lookup, label=f"{d.label} ({lookup})"
                    )
            elif t == FieldType.USER:
                self.filters[base] = _IntegerFilter(field_name=base, label=d.label)
            else:
                self.filters[base] = django_filters.CharFilter(field_name=base, label=d.label)

    @staticmethod
    def _multichoice(key):
        def method(queryset, name, value):
            # JSON containment is not on SQLite; match the quoted item inside the JSON text.
            from django.db import connection

            if connection.vendor == "postgresql":
                return queryset.filter(**{f"custom__{key}__contains": [value]})
            return queryset.filter(**{f"custom__{key}__icontains": f'"{value}"'})

        return method
