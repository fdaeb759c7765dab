"""What automation may touch: models (with whitelisted fields) and actions, registered by the
apps that own them from their `AppConfig.ready()`; plus the cached list of active rules.

    from apps.studio.automation import ModelSpec, register_model
    register_model(ModelSpec(
        model=Customer, name="customer",
        fields=["name", "status", "level", "owner", "next_follow_up_at", ...],
        owner_field="owner",
        update=lambda obj, data: customer_update(customer=obj, by=None, data=data),
        assign=lambda obj, owner: customer_assign(customers=[obj], owner=owner, by=None),
    ))

Only whitelisted fields (and the model's custom fields) can be used in conditions, templates,
"set field" and webhook payloads; nothing else of a record is ever reachable from a rule.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

_GEN_KEY = "weft:automation:gen"


@dataclass
class ModelSpec:
    model: type[models.Model]
    name: str  # placeholder prefix in templates: {customer.name}
    fields: Iterable[str]
    owner_field: str | None = None
    # Writes go through the owning app's services (run as the system: by=None).
    update: Callable[[models.Model, Mapping], object] | None = None
    assign: Callable[[models.Model, object], object] | None = None
    # Optional: the owner a territory gives this record (for "assign owner: by territory").
    territory_owner: Callable[[models.Model], object] | None = None
    settable: Iterable[str] | None = None  # fields "set field" may write (default: update's)
    label: str = ""

    def __post_init__(self):
        self.fields = tuple(self.fields)
        meta = self.model._meta
        self.label = f"{meta.app_label}.{meta.model_name}"
        for name in self.fields:
            meta.get_field(name)  # a typo fails at start-up, not in a worker at night
        if self.settable is not None:
            self.settable = tuple(self.settable)

    # --- fields ---------------------------------------------------------------------
    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.verbose_name)

    def custom_definitions(self) -> dict:
        memo = getattr(_memo, "defs", None)
        if memo is not None and self.label in memo:
            return memo[self.label]
        from apps.studio.registry import definition_map, is_registered

        found = definition_map(self.model) if is_registered(self.model) else {}
        if memo is not None:
            memo[self.label] = found
        return found

    def has_field(self, name: str) -> bool:
        if name.startswith("custom."):
            return name[7:] in self.custom_definitions()
        return name in self.fields

    def field_choices(self) -> list[tuple[str, str]]:
        out = [(n, str(self.model._meta.get_field(n).verbose_name)) for n in self.fields]
        out += [(f"custom.{k}", d.label) for k, d in self.custom_definitions().items()]
        return out

    def field_kind(self, name: str) -> str:
        """text, number, date, datetime, bool, fk, choice or multichoice."""
        memo = getattr(_memo, "defs", None)
        if memo is None:
            return self._field_kind(name)
        key = ("kind", self.label, name)
        if key not in memo:
            memo[key] = self._field_kind(name)
        return memo[key]

    def _field_kind(self, name: str) -> str:
        if name.startswith("custom."):
            d = self.custom_definitions().get(name[7:])
            if d is None:
                return "text"
            return {
                "integer": "number",
                "decimal": "number",
                "date": "date",
                "datetime": "datetime",
                "boolean": "bool",
                "choice": "choice",
                "multichoice": "multichoice",
                "user": "fk",
            }.get(d.type, "text")
        try:
            f = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return "text"
        if f.is_relation:
            return "fk"
        if isinstance(f, models.BooleanField):
            return "bool"
        if isinstance(f, models.DateTimeField):
            return "datetime"
        if isinstance(f, models.DateField):
            return "date"
        if isinstance(f, models.IntegerField | models.DecimalField | models.FloatField):
            return "number"
        if f.choices:
            return "choice"
        return "text"

    def value(self, instance: models.Model, name: str):
        """The stored value of a whitelisted field (FK: the id)."""
        if name.startswith("custom."):
            return (getattr(instance, "custom", None) or {}).get(name[7:])
        if name not in self.fields:
            raise KeyError(name)
        f = self.model._meta.get_field(name)
        return getattr(instance, f.attname)

    def display(self, instance: models.Model, name: str) -> str:
        """What a person reads: choice labels, related objects' names, local dates."""
        if name.startswith("custom."):
            d = self.custom_definitions().get(name[7:])
            raw = self.value(instance, name)
            if raw in (None, "", []):
                return ""
            if d is not None and d.type == "choice":
                return d.choice_label(raw)
            if d is not None and d.type == "multichoice":
                return ", ".join(d.choice_label(v) for v in raw)
            return str(raw)
        f = self.model._meta.get_field(name)
        if f.is_relation:
            related = getattr(instance, name, None)
            return "" if related is None else str(related)
        raw = getattr(instance, f.attname)
        if raw is None:
            return ""
        if f.choices:
            return str(getattr(instance, f"get_{name}_display")())
        if isinstance(raw, dt.datetime):
            return timezone.localtime(raw).strftime("%Y-%m-%d %H:%M")
        if isinstance(raw, bool):
            return _("Yes") if raw else _("No")
        return str(raw)

    def snapshot(self, instance: models.Model) -> dict:
        """JSON-friendly whitelisted values (for webhook payloads and run logs)."""
        out = {"id": instance.pk}
        for name in self.fields:
            out[name] = plain(self.value(instance, name))
        if self.custom_definitions():
            out["custom"] = {
                k: plain((instance.custom or {}).get(k)) for k in self.custom_definitions()
            }
        return out

    def owner_of(self, instance: models.Model):
        return getattr(instance, self.owner_field, None) if self.owner_field else None

    def settable_fields(self) -> tuple[str, ...]:
        if self.update is None:
            return ()
        return self.settable if self.settable is not None else self.fields


def plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class ActionContext:
    rule: object
    run: object
    action: object  # the RuleAction row
    spec: ModelSpec
    instance: models.Model
    params: dict
    key: str  # idempotency key of this action in this run: pass it on to external systems

    def render(self, template: str, *, for_user=None) -> str:
        """The template filled for `for_user` (None: for no one in particular — fields
        restricted by field security stay empty)."""
        from .templating import render

        return render(template, self.spec, self.instance, user=for_user)


@dataclass
class ActionSpec:
    """An action rules can run. `run(ctx) -> dict | None` does it (a JSON-friendly result goes
    to the run log); `clean(params, model_spec) -> params` validates an admin's parameters
    (raise ValidationError); `models`: labels it applies to (None: any registered model)."""

    key: str
    label: object
    run: Callable[[ActionContext], object]
    clean: Callable[[dict, ModelSpec], dict] | None = None
    models: Iterable[str] | None = None
    help: object = ""
    requires: Callable[[ModelSpec], bool] | None = None
    params_example: dict = field(default_factory=dict)

    def applies_to(self, spec: ModelSpec) -> bool:
        if self.models is not None and spec.label not in set(self.models):
            return False
        return self.requires is None or self.requires(spec)

    def clean_params(self, params: dict, spec: ModelSpec) -> dict:
        if not isinstance(params, dict):
            raise ValidationError({"params": _("Parameters must be a JSON object.")})
        return self.clean(params, spec) if self.clean else params


_memo = threading.local()


@contextmanager
def memoized():
    """Within the block, custom-field definitions are read once per model (not per condition):
    evaluating 200 rules for one event must not unpickle them 200 times."""
    outer = getattr(_memo, "defs", None)
    if outer is None:
        _memo.defs = {}
    try:
        yield
    finally:
        if outer is None:
            _memo.defs = None


_models: dict[str, ModelSpec] = {}
_actions: dict[str, ActionSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    _models[spec.label] = spec
    return spec


def unregister_model(label: str) -> None:
    _models.pop(label, None)


def register_action(spec: ActionSpec) -> ActionSpec:
    _actions[spec.key] = spec
    return spec


def unregister_action(key: str) -> None:
    _actions.pop(key, None)


def spec_for(model_or_label) -> ModelSpec | None:
    if isinstance(model_or_label, str):
        return _models.get(model_or_label.lower())
    meta = model_or_label._meta
    return _models.get(f"{meta.app_label}.{meta.model_name}")


def spec_for_ct(ct: ContentType) -> ModelSpec | None:
    return _models.get(f"{ct.app_label}.{ct.model}")


def models_registered() -> list[ModelSpec]:
    return list(_models.values())


def action(key: str) -> ActionSpec | None:
    return _actions.get(key)


def actions() -> list[ActionSpec]:
    return list(_actions.values())


def action_choices() -> list[tuple[str, str]]:
    return [(a.key, str(a.label)) for a in _actions.values()]


# --- active rules, cached per process under a shared generation counter ------------------
_local = threading.local()


def rules_changed() -> None:
    # A fresh token, not a counter: after a cache flush a counter would restart at a value some
    # process may already hold with stale rules.
    cache.set(_GEN_KEY, uuid.uuid4().hex, None)


def _generation() -> str:
    gen = cache.get(_GEN_KEY)
    if gen is None:
        cache.add(_GEN_KEY, uuid.uuid4().hex, None)
        gen = cache.get(_GEN_KEY)
    return gen


def active_rules() -> dict[str, list]:
    """{model label: [rule, ...]} of active rules with their conditions and actions loaded.
    One cache GET per call; the database only when a rule changed since this process looked."""
    from apps.studio.models import AutomationRule

    gen = _generation()
    found = getattr(_local, "rules", None)
    if found is not None and found[0] == gen:
        return found[1]
    by_label: dict[str, list] = {}
    qs = (
        AutomationRule.objects.filter(active=True)
        .select_related("content_type")
        .prefetch_related("conditions", "actions")
        .order_by("order", "id")
    )
    for rule in qs:
        # Plain lists: a related manager per evaluation costs more than the comparison.
        rule.cached_conditions = list(rule.conditions.all())
        by_label.setdefault(rule.model_label, []).append(rule)
    _local.rules = (gen, by_label)
    return by_label


def rules_for(label: str) -> list:
    return active_rules().get(label, [])
