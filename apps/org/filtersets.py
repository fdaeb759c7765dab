"""Field security on django-filter FilterSets (list pages and the API share them).

A filter on a field the user may not see tells its values (filter `amount__gte=…` and count
the rows), so the filter is dropped for that user: the page's filter form does not offer it
and the parameter is ignored there (the API refuses it with a 400 first:
`HiddenFieldQueryGuard`).
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist

from .fields import field_access


def filtered_field(model, path: str) -> str:
    """The securable name a filter path reads: "amount__gte" → "amount", "owner_id" →
    "owner", "custom__salary__lte" → "salary"."""
    parts = path.split("__")
    if parts[0] == "custom" and len(parts) > 1:
        return parts[1]
    try:
        return model._meta.get_field(parts[0]).name
    except FieldDoesNotExist:
        for f in model._meta.concrete_fields:
            if f.attname == parts[0]:
                return f.name
        return parts[0]


class FieldSecuredFilterSetMixin:
    """Put before `django_filters.FilterSet`. A filter reads the field named by its
    `field_name`; a method filter that reads another field says so in `filter_reads`
    ({"due": "due_at"})."""

    filter_reads: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.drop_hidden_filters(getattr(self.request, "user", None))

    def drop_hidden_filters(self, user) -> None:
        if user is None:
            return
        model = self._meta.model
        access = field_access(user, model)
        if not access.hidden:
            return
        for name, flt in list(self.filters.items()):
            path = self.filter_reads.get(name) or flt.field_name or name
            if not access.can_view(filtered_field(model, path)):
                del self.filters[name]
