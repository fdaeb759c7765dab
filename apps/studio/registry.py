"""Which models have custom fields, and their active definitions (cached)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models

_GEN_KEY = "weft:customfields:gen"


def registered_models() -> list[type[models.Model]]:
    from .models import CustomFieldsModel

    return [m for m in apps.get_models() if issubclass(m, CustomFieldsModel)]


def is_registered(model: type[models.Model]) -> bool:
    from .models import CustomFieldsModel

    return issubclass(model, CustomFieldsModel)


def model_choices() -> list[tuple[str, str]]:
    return [
        (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name))
        for m in registered_models()
    ]


def _generation() -> int:
    gen = cache.get(_GEN_KEY)
    if gen is None:
        gen = 1
        cache.add(_GEN_KEY, gen, None)
    return gen


def definitions_changed() -> None:
    try:
        cache.incr(_GEN_KEY)
    except ValueError:
        cache.set(_GEN_KEY, 2, None)


def definitions_for(model: type[models.Model], *, include_inactive: bool = False) -> list:
    """Active FieldDefinitions of `model` in form order (one cached query)."""
    from .models import FieldDefinition

    ct = ContentType.objects.get_for_model(model)
    key = f"weft:customfields:{_generation()}:{ct.pk}"
    found = cache.get(key)
    if found is None:
        found = list(FieldDefinition.objects.filter(content_type=ct).order_by("order", "id"))
        for d in found:
            d.content_type = ct  # no extra query when a definition asks for its model
        cache.set(key, found, 3600)
    return found if include_inactive else [d for d in found if d.active]


def definition_map(model: type[models.Model]) -> dict[str, object]:
    return {d.key: d for d in definitions_for(model)}


def custom_field_names(model: type[models.Model]) -> list[tuple[str, str]]:
    """For field security: (key, label) of every custom field of `model`."""
    if not is_registered(model):
        return []
    return [(d.key, d.label) for d in definitions_for(model, include_inactive=True)]


def layout_for(model: type[models.Model]):
    """(hidden_fields, [(title, [names], columns, collapsed)]) of the model's form layout."""
    from .models import FormLayout

    ct = ContentType.objects.get_for_model(model)
    key = f"weft:formlayout:{_generation()}:{ct.pk}"
    found = cache.get(key)
    if found is None:
        layout = FormLayout.objects.filter(content_type=ct).prefetch_related("sections").first()
        if layout is None:
            found = ([], [])
        else:
            found = (
                list(layout.hidden_fields or []),
                [
                    (s.title, list(s.fields or []), s.columns, s.collapsed)
                    for s in layout.sections.all()
                ],
            )
        cache.set(key, found, 3600)
    return found
