"""Field security core (DESIGN §4.1): which fields of a model a user may see and change.

A `FieldPolicy` row marks a field restricted for view and/or change. The matching Django
permissions `view_<model>__<field>` / `change_<model>__<field>` let a role (model-wide) or a
user (one record, through guardian) through. Every form, serializer, export and report asks
`field_access(user, Model, obj)` and hides or locks what it says; nothing else decides.

Field names are one flat namespace per model: built-in field names and custom-field keys
(studio refuses a custom key that shadows a built-in field).

A record's name (`RECORD_NAME_FIELDS` on the model: a customer's name, a contract's number
and title…) is not securable: it labels the record on every page, link, search hit, timeline
entry and notification, as the record name does in Salesforce or Zoho (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models
from django.utils.translation import gettext as _

from .models import FieldPolicy, field_codename
from .scopes import has_grant

_GEN_KEY = "weft:fieldpolicy:gen"

# Other apps (studio) add field names that are not model fields: custom-field keys.
_field_sources: list[Callable[[type[models.Model]], list[tuple[str, str]]]] = []


def register_field_source(source: Callable[[type[models.Model]], list[tuple[str, str]]]) -> None:
    """`source(model)` returns extra (name, label) pairs that policies may name."""
    if source not in _field_sources:
        _field_sources.append(source)


def record_name_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The fields that name a record of `model` (and the columns derived from them): shown
    wherever the record is, so never restricted."""
    return tuple(getattr(model, "RECORD_NAME_FIELDS", ()))


def securable_fields(model: type[models.Model]) -> list[tuple[str, str]]:
    """Every (name, label) a field policy may restrict on `model` (not its name fields)."""
    named = set(record_name_fields(model))
    pairs = [
        (f.name, str(f.verbose_name))
        for f in model._meta.get_fields()
        if getattr(f, "concrete", False)
        and not f.auto_created
        and f.name != "custom"
        and f.name not in named
    ]
    for source in _field_sources:
        pairs.extend(source(model))
    return pairs


def _generation() -> int:
    gen = cache.get(_GEN_KEY)
    if gen is None:
        gen = 1
        cache.add(_GEN_KEY, gen, None)
    return gen


def policies_changed() -> None:
    """Forget cached policies everywhere the cache is shared (call after any policy write)."""
    try:
        cache.incr(_GEN_KEY)
    except ValueError:
        cache.set(_GEN_KEY, 2, None)


def policies_for(model: type[models.Model]) -> dict[str, tuple[bool, bool]]:
    """{field_name: (restrict_view, restrict_change)} for `model`, cached until a policy changes."""
    ct = ContentType.objects.get_for_model(model)
    key = f"weft:fieldpolicy:{_generation()}:{ct.pk}"
    found = cache.get(key)
    if found is None:
        named = set(record_name_fields(model))  # a row older than the rule restricts nothing
        found = {
            name: (rv, rc)
            for name, rv, rc in FieldPolicy.objects.filter(content_type=ct).values_list(
                "field_name", "restrict_view", "restrict_change"
            )
            if name not in named
        }
        cache.set(key, found, 3600)
    return found


def ensure_permissions(policy: FieldPolicy) -> list[Permission]:
    """Create the view/change permissions a policy names (idempotent)."""
    label = policy.field_name
    for name, field_label in securable_fields(policy.content_type.model_class() or models.Model):
        if name == policy.field_name:
            label = field_label
            break
    model_label = policy.content_type.name
    made = []
    for action, verb in (("view", _("Can view field")), ("change", _("Can change field"))):
        perm, _created = Permission.objects.get_or_create(
            content_type=policy.content_type,
            codename=policy.codename(action),
            defaults={"name": f"{verb} {model_label} · {label}"[:255]},
        )
        made.append(perm)
    return made


@dataclass(frozen=True)
class FieldAccess:
    """What one user may do with the restricted fields of one model (or one object of it)."""

    hidden: frozenset[str]
    readonly: frozenset[str]

    def can_view(self, name: str) -> bool:
        return name not in self.hidden

    def can_change(self, name: str) -> bool:
        return name not in self.hidden and name not in self.readonly

    def visible(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self.hidden]

    def refused_writes(self, names: Iterable[str]) -> list[str]:
        """The names in `names` the user may not write (hidden or read-only)."""
        return [n for n in names if not self.can_change(n)]


FULL_ACCESS = FieldAccess(hidden=frozenset(), readonly=frozenset())


def field_access(user, model: type[models.Model], obj: models.Model | None = None) -> FieldAccess:
    """The one answer to "which fields may this user see / change" on `model` (or `obj`).

    Model-wide field permissions come from the user's roles and own permissions; with `obj`,
    a guardian grant of the field permission on that record also counts.
    """
    policies = policies_for(model)
    if not policies or (user.is_authenticated and user.is_active and user.is_superuser):
        return FULL_ACCESS
    if not user.is_authenticated or not user.is_active:
        return FieldAccess(frozenset(policies), frozenset(policies))
    opts = model._meta
    with_obj = obj is not None and obj.pk is not None

    def holds(action: str, name: str) -> bool:
        codename = field_codename(action, opts.model_name, name)
        if user.has_perm(f"{opts.app_label}.{codename}"):
            return True
        return with_obj and has_grant(user, obj, codename)

    hidden, readonly = set(), set()
    for name, (restrict_view, restrict_change) in policies.items():
        if restrict_view and not holds("view", name):
            hidden.add(name)
            continue
        if restrict_change and not holds("change", name):
            readonly.add(name)
    return FieldAccess(frozenset(hidden), frozenset(readonly))


def redact(data: dict, access: FieldAccess, *, custom_key: str = "custom") -> dict:
    """Drop hidden fields (top level and inside the custom dict) from a plain dict."""
    out = {k: v for k, v in data.items() if access.can_view(k)}
    if isinstance(out.get(custom_key), dict):
        out[custom_key] = {k: v for k, v in out[custom_key].items() if access.can_view(k)}
    return out
