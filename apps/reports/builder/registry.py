"""What the report builder may query: data sources (models) and their fields.

Reports reads every domain app and no domain app imports reports (DESIGN §1), so the sources
are registered here, by model label. A source whose app or model is missing (the tasks app
is built in parallel) is skipped, not an error. Fields are discovered from the model: its
concrete fields (minus derived search keys and long text), its custom fields (studio), and
the one-hop related fields listed per source (e.g. the owner's department).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _

KIND_FK = "fk"
KIND_CHOICE = "choice"
KIND_MULTI = "multichoice"
KIND_DATE = "date"
KIND_DATETIME = "datetime"
KIND_BOOL = "bool"
KIND_INT = "int"
KIND_DECIMAL = "decimal"
KIND_TEXT = "text"
KIND_USER = "user"  # custom "user" field: a user id inside the JSON

NUMERIC = {KIND_INT, KIND_DECIMAL}
DATES = {KIND_DATE, KIND_DATETIME}

# Derived columns kept for search and de-duplication: not report material.
_SKIP_SUFFIXES = ("_normalized", "_pinyin", "_initials", "_digits")
_SKIP_NAMES = {"id", "custom", "dedupe_key", "password", "chain", "data", "payload"}


@dataclass(frozen=True)
class SourceSpec:
    key: str
    model_label: str
    label: str
    related: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_date: str = "created_at"
    # Where a dashboard's department filter applies (a field path of the source).
    department_path: str = "department"

    @property
    def model(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model_label)
        except (LookupError, ValueError):
            return None

    def allowed(self, user) -> bool:
        model = self.model
        if model is None or not hasattr(model.objects, "visible_to"):
            return False
        opts = model._meta
        return user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


@dataclass
class FieldInfo:
    path: str  # ORM path from the source model ("owner__department", "custom__erp")
    label: str
    kind: str
    # Field security: every (model, field name) the value passes through.
    secured: tuple = ()
    choices: list = field(default_factory=list)
    related_model: type[models.Model] | None = None
    custom_key: str | None = None

    @property
    def is_custom(self) -> bool:
        return self.custom_key is not None


_sources: dict[str, SourceSpec] = {}


def register_source(spec: SourceSpec) -> None:
    _sources[spec.key] = spec


def all_sources() -> dict[str, SourceSpec]:
    return {k: s for k, s in _sources.items() if s.model is not None}


def get_source(key: str) -> SourceSpec | None:
    spec = _sources.get(key)
    return spec if spec is not None and spec.model is not None else None


def sources_for(user) -> list[SourceSpec]:
    return [s for s in all_sources().values() if s.allowed(user)]


def _kind(f: models.Field) -> str | None:
    if isinstance(f, models.ForeignKey):
        return KIND_FK
    if getattr(f, "choices", None):
        return KIND_CHOICE
    if isinstance(f, models.DateTimeField):
        return KIND_DATETIME
    if isinstance(f, models.DateField):
        return KIND_DATE
    if isinstance(f, models.BooleanField):
        return KIND_BOOL
    if isinstance(f, models.IntegerField | models.BigIntegerField | models.SmallIntegerField):
        return KIND_INT
    if isinstance(f, models.DecimalField | models.FloatField):
        return KIND_DECIMAL
    if isinstance(f, models.CharField):
        return KIND_TEXT
    return None  # text, JSON, files, one-to-one processes: not groupable


def _usable(f) -> bool:
    if not getattr(f, "concrete", False) or f.auto_created or f.name in _SKIP_NAMES:
        return False
    if isinstance(f, models.OneToOneField | models.ManyToManyField):
        return False
    return not f.name.endswith(_SKIP_SUFFIXES)


def _label(f) -> str:
    text = str(f.verbose_name)
    return text[:1].upper() + text[1:]


def _model_fields(model, prefix: str = "", label_prefix: str = "", secured=()) -> list[FieldInfo]:
    out = []
    for f in model._meta.get_fields():
        if not _usable(f):
            continue
        kind = _kind(f)
        if kind is None:
            continue
        out.append(
            FieldInfo(
                path=f"{prefix}{f.name}",
                label=f"{label_prefix}{_label(f)}",
                kind=kind,
                secured=(*secured, (model, f.name)),
                choices=[(str(v), str(lbl)) for v, lbl in (f.choices or [])],
                related_model=f.related_model if kind == KIND_FK else None,
            )
        )
    return out


_CUSTOM_KINDS = {
    "text": KIND_TEXT,
    "textarea": None,
    "integer": KIND_INT,
    "decimal": KIND_DECIMAL,
    "date": KIND_DATE,
    "datetime": KIND_DATETIME,
    "boolean": KIND_BOOL,
    "choice": KIND_CHOICE,
    "multichoice": KIND_MULTI,
    "user": KIND_USER,
    "email": KIND_TEXT,
    "phone": KIND_TEXT,
    "url": KIND_TEXT,
}


def _custom_fields(model) -> list[FieldInfo]:
    from apps.studio.registry import definitions_for, is_registered

    if not is_registered(model):
        return []
    out = []
    for d in definitions_for(model):
        kind = _CUSTOM_KINDS.get(d.type)
        if kind is None:
            continue
        out.append(
            FieldInfo(
                path=f"custom__{d.key}",
                label=d.label,
                kind=kind,
                secured=((model, d.key),),
                choices=[(str(c["value"]), str(c["label"])) for c in d.choices or []],
                related_model=apps.get_model("org", "User") if kind == KIND_USER else None,
                custom_key=d.key,
            )
        )
    return out


def source_fields(spec: SourceSpec) -> dict[str, FieldInfo]:
    """Every field of the source, hidden or not (field security is applied by the caller)."""
    model = spec.model
    found = [f for f in _model_fields(model) if f.path not in spec.exclude]
    found += _custom_fields(model)
    for path in spec.related:
        first, _sep, second = path.partition("__")
        fk = model._meta.get_field(first)
        target = fk.related_model
        for info in _model_fields(
            target,
            prefix=f"{first}__",
            label_prefix=f"{_label(fk)} · ",
            secured=((model, first),),
        ):
            if info.path == path:
                found.append(info)
    return {f.path: f for f in found}


def visible_fields(spec: SourceSpec, user) -> dict[str, FieldInfo]:
    """The fields `user` may use: a field hidden by field security anywhere on its path is out."""
    from apps.org.fields import field_access

    access: dict = {}

    def can_view(model, name) -> bool:
        if model not in access:
            access[model] = field_access(user, model)
        return access[model].can_view(name)

    return {
        path: info
        for path, info in source_fields(spec).items()
        if all(can_view(m, n) for m, n in info.secured)
    }


def register_builtin_sources() -> None:
    """The sources the issue names (DESIGN §2 reports). Called from ReportsConfig.ready()."""
    owner_dept = "owner__department"
    for spec in [
        SourceSpec(
            "customers",
            "customers.Customer",
            _("Customers"),
            (owner_dept, "territory__name"),
        ),
        SourceSpec(
            "contacts",
            "customers.Contact",
            _("Contacts"),
            (
                "customer__industry",
                "customer__province",
                "customer__level",
                "customer__owner",
                "customer__department",
            ),
            department_path="customer__department",
        ),
        SourceSpec(
            "leads",
            "sales.Lead",
            _("Leads"),
            (owner_dept, "campaign__channel"),
        ),
        SourceSpec(
            "opportunities",
            "sales.Opportunity",
            _("Opportunities"),
            (
                owner_dept,
                "customer__industry",
                "customer__province",
                "customer__level",
                "customer__source",
                "stage__is_won",
            ),
        ),
        SourceSpec(
            "contracts",
            "sales.Contract",
            _("Contracts"),
            (owner_dept, "customer__industry", "customer__province", "customer__level"),
        ),
        SourceSpec(
            "payments",
            "sales.Payment",
            _("Payments"),
            ("contract__owner", "contract__department", "contract__customer", "contract__status"),
            default_date="received_at",
            department_path="contract__department",
        ),
        SourceSpec(
            "invoices",
            "sales.Invoice",
            _("Invoices"),
            ("contract__owner", "contract__department", "contract__customer"),
            department_path="contract__department",
        ),
        SourceSpec(
            "tickets",
            "customers.Ticket",
            _("Tickets"),
            ("assignee__department", "customer__industry", "customer__province", "customer__level"),
        ),
        SourceSpec(
            "tasks",
            "tasks.Task",
            _("Tasks"),
            ("customer__industry", "customer__province", "customer__level"),
            exclude=(
                "root",
                "recurrence_of",
                "link_type",
                "link_id",
                "reminded_at",
                "due_soon_notified_at",
                "overdue_notified_at",
            ),
        ),
        SourceSpec(
            "approvals",
            "approvals.ApprovalRequest",
            _("Approvals"),
            ("template__kind", "initiator__department"),
            exclude=("process", "subject_type", "subject_id", "current_step", "round"),
        ),
    ]:
        register_source(spec)
