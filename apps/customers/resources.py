"""Excel import/export of customers and contacts (django-import-export, DESIGN §2).

    resource = CustomerResource(user=request.user)
    result = resource.import_data(dataset, dry_run=True)      # preview: per-row errors
    if not result.has_errors() and not result.has_validation_errors():
        resource = CustomerResource(user=request.user)
        resource.import_data(dataset, dry_run=False)          # commit: all or nothing
    dataset = CustomerResource(user=request.user).export(queryset=qs)   # export

Headers are the fields' labels in the user's language; on import the field names and the
English or Chinese labels are all accepted. Choice columns take the stored value or a label
("A", "制造业", "Manufacturing"); owner takes a username (empty: the importing user). Every row
is checked for a name that normalises like an existing customer's or an earlier row's of the
same file (a per-row error naming the clash); nothing is saved unless every row is valid.
Customers are inserted in bulk through `services.customer_bulk_import` (history rows, tags,
unique custom values included); contacts go through `services.contact_create` row by row.
Export drops columns the user may not see and neutralises cells a spreadsheet would run as a
formula (`apps.studio.resources.WeftResource`).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from import_export import fields, widgets

from apps.org.fields import field_access
from apps.studio.resources import WeftResource

from . import services
from .models import Contact, Customer
from .normalize import normalize_name

User = get_user_model()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(dataset, basename: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(dataset.export("xlsx"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.xlsx"'
    return response


def names_in(keys: list[str]):
    """`Q(name_normalized__in=keys)`, written for PostgreSQL as a sub-select of the list.

    `name_normalized = ANY(array of 1,000 keys)` may be planned on the trigram GIN index
    (pg_trgm supports equality) when the statistics lag behind a large import: 34–53 s per
    chunk, measured. A sub-select of the keys is planned as one unique-index probe per key.
    """
    from django.db import connection
    from django.db.models import Q
    from django.db.models.expressions import RawSQL

    if connection.vendor != "postgresql":
        return Q(name_normalized__in=keys)
    return Q(name_normalized__in=RawSQL("SELECT unnest(%s::text[])", [list(keys)]))


class ChoiceWidget(widgets.Widget):
    """Stored value ⇄ label; import accepts the value or the English / Chinese label."""

    def __init__(self, choices):
        super().__init__()
        self.choices = choices

    def _lookup(self) -> dict[str, str]:
        found = {}
        for value, _label in self.choices:
            found[str(value).lower()] = value
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                for value, label in self.choices:
                    found.setdefault(str(label).strip().lower(), value)
                    # "A · key account" → also "A"
                    found.setdefault(str(label).split("·")[0].strip().lower(), value)
        return found

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return ""
        text = str(value).strip().lower()
        lookup = getattr(self, "_cache", None)
        if lookup is None:
            lookup = self._cache = self._lookup()
        if text not in lookup:
            raise ValueError(_("'%(value)s' is not one of the choices.") % {"value": value})
        return lookup[text]

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


class UserWidget(widgets.Widget):
    """A user by username (or display name); cached per import."""

    def __init__(self):
        super().__init__()
        self._cache: dict[str, object] = {}

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        key = str(value).strip()
        if key not in self._cache:
            user = User.objects.filter(username=key, is_active=True).first()
            if user is None:
                user = User.objects.filter(display_name=key, is_active=True).first()
            self._cache[key] = user
        if self._cache[key] is None:
            raise ValueError(_("No active user '%(name)s'.") % {"name": key})
        return self._cache[key]

    def render(self, value, obj=None, **kwargs):
        return value.username if value is not None else ""


class TagsField(fields.Field):
    """Tags as one comma-separated cell."""

    def __init__(self, **kwargs):
        super().__init__(attribute="tags", column_name="tags", widget=widgets.Widget(), **kwargs)

    def get_value(self, obj):
        return [t.name for t in obj.tags.all()] if obj.pk else []

    def export(self, instance, **kwargs):
        return ", ".join(self.get_value(instance))

    def save(self, instance, row, is_m2m=False, **kwargs):
        raw = str(row.get(self.column_name) or "")
        instance._import_tags = [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


class _LabelledResource(WeftResource):
    """Headers = field labels in the active language; import accepts names and labels."""

    label_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._aliases: dict[str, str] = {}
        model = self._meta.model
        for name, field in self.fields.items():
            if name.startswith("custom__"):
                self._aliases[name] = field.column_name
                continue
            try:
                model_field = model._meta.get_field(field.attribute or name)
            except Exception:  # noqa: BLE001 - not a model field (e.g. tags header)
                model_field = None
            labels = {name}
            if model_field is not None:
                for lang in ("en", "zh-hans"):
                    with translation.override(lang):
                        labels.add(str(model_field.verbose_name))
                field.column_name = str(model_field.verbose_name)
            for label in labels:
                self._aliases[label.strip().lower()] = field.column_name

    def before_import(self, dataset, **kwargs):
        if dataset.headers:
            dataset.headers = [
                self._aliases.get(str(h or "").strip().lower(), str(h or "").strip())
                for h in dataset.headers
            ]
        super().before_import(dataset, **kwargs)


class BulkImportMixin:
    """`import_data` for files of new records, in batches, without import-export's per-row
    machinery (diffs, instance loaders, a RowResult per row, `full_clean` of every field).

    Same contract as import-export's: the result's `invalid_rows` carry per-row field errors
    (numbered from 1), `base_errors` a refusal of the whole file; nothing is kept on a dry run
    (the preview) or when any row is invalid (all or nothing). Each row is cleaned by the
    resource's fields, then checked by `check_row`; valid rows are handed to `save_batch`
    (a bulk service) `BATCH` at a time inside one transaction, so memory stays flat. Once a
    row is invalid, later rows are still checked (the preview lists every error) but nothing
    more is written. Per-row look-ups (owners, customers, duplicates) are cached or done in
    bulk by `before_import`. 100k rows: see docs/benchmarks.md.
    """

    BATCH = 1000
    # Model fields the import never validates from the file (derived or set by the service).
    derived_fields: tuple[str, ...] = ()

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=True,
        **kwargs,
    ):
        from import_export.results import RowResult

        result = self.get_result_class()()
        result.total_rows = len(dataset)
        try:
            self.before_import(dataset, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported like import-export does
            self.handle_import_error(result, exc, raise_errors)
            return result
        headers = list(dataset.headers or [])
        result.diff_headers = headers
        self._prepare_rows(headers)
        batch: list = []
        failed = False
        with transaction.atomic():
            savepoint = transaction.savepoint()
            try:
                for number, values in enumerate(dataset, start=1):
                    row = dict(zip(headers, values, strict=False))
                    instance, errors = self.import_row(row, None, row_number=number)
                    if errors:
                        failed = True
                        batch.clear()
                        result.append_invalid_row(number, row, ValidationError(errors))
                        result.totals[RowResult.IMPORT_TYPE_INVALID] += 1
                        continue
                    result.totals[RowResult.IMPORT_TYPE_NEW] += 1
                    if failed:
                        continue
                    batch.append(instance)
                    if len(batch) >= self.BATCH:
                        failed = not self._save(batch, result, raise_errors)
                if batch and not failed:
                    failed = not self._save(batch, result, raise_errors)
            finally:
                if dry_run or failed or result.has_errors():
                    transaction.savepoint_rollback(savepoint)
                else:
                    transaction.savepoint_commit(savepoint)
        return result

    def _save(self, batch: list, result, raise_errors: bool) -> bool:
        try:
            with transaction.atomic():
                self.save_batch(batch)
        except Exception as exc:  # noqa: BLE001 - reported per import, like import-export
            self.handle_import_error(result, exc, raise_errors)
            return False
        finally:
            batch.clear()
        return True

    def _prepare_rows(self, headers: list[str]) -> None:
        """Once per file: the fields present in it, the columns the user may not write, and
        which model fields `check_row` validates (the file's columns and the required ones)."""
        present = set(headers)
        self._row_fields = [
            f
            for f in self.get_import_fields()
            if f.attribute and not f.readonly and f.column_name in present
        ]
        self._refused: dict[str, list[str]] = {}
        if self.user is not None:
            access = field_access(self.user, self._meta.model)
            if access.hidden or access.readonly:
                for name, field in self.fields.items():
                    base = name[len("custom__") :] if name.startswith("custom__") else name
                    if field.column_name in present and not access.can_change(base):
                        self._refused[name] = [_("You may not import this field.")]
        imported = {f.attribute for f in self._row_fields}
        # A column the file doesn't have keeps its default, which is valid: only the file's
        # columns and required fields without a default are validated.
        self._clean_exclude = {
            f.name
            for f in self._meta.model._meta.concrete_fields
            if (f.name not in imported and (f.blank or f.has_default()))
            or f.name in self.derived_fields
        }

    def import_row(self, row, instance_loader, **kwargs):
        """(instance, errors) of one row; `errors` is {field: [messages]}, empty if valid.

        (Named like import-export's hook so per-row wrappers — the import job's progress —
        keep working.)"""
        instance = self._meta.model()
        errors: dict[str, list[str]] = dict(self._refused)
        for field in self._row_fields:
            try:
                field.save(instance, row, False)
            except (ValueError, ValidationError) as exc:
                messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                errors[field.attribute] = [str(m) for m in messages]
        self.check_row(instance, row, kwargs.get("row_number"), errors)
        return instance, errors

    def check_row(self, instance, row, row_number, errors: dict) -> None:
        """Model field validation of what the file sets (`clean_fields` + `clean`)."""
        try:
            instance.clean_fields(exclude=self._clean_exclude | set(errors))
            instance.clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)

    def save_batch(self, instances: list) -> None:
        raise NotImplementedError


class CustomerResource(BulkImportMixin, _LabelledResource):
    id = fields.Field(attribute="id", column_name="id", readonly=True)
    industry = fields.Field(
        attribute="industry", column_name="industry", widget=ChoiceWidget(Customer.Industry.choices)
    )
    source = fields.Field(
        attribute="source", column_name="source", widget=ChoiceWidget(Customer.Source.choices)
    )
    level = fields.Field(
        attribute="level", column_name="level", widget=ChoiceWidget(Customer.Level.choices)
    )
    status = fields.Field(
        attribute="status", column_name="status", widget=ChoiceWidget(Customer.Status.choices)
    )
    owner = fields.Field(attribute="owner", column_name="owner", widget=UserWidget())
    tags = TagsField()
    created_at = fields.Field(
        attribute="created_at",
        column_name="created_at",
        readonly=True,
        widget=widgets.DateTimeWidget(),
    )
    last_contacted_at = fields.Field(
        attribute="last_contacted_at",
        column_name="last_contacted_at",
        readonly=True,
        widget=widgets.DateTimeWidget(),
    )

    class Meta:
        model = Customer
        fields = (
            "id",
            "name",
            "industry",
            "source",
            "level",
            "status",
            "province",
            "city",
            "address",
            "phone",
            "email",
            "website",
            "owner",
            "tags",
            "description",
            "created_at",
            "last_contacted_at",
        )
        export_order = fields
        import_id_fields = ()  # rows never update: force_init_instance
        force_init_instance = True  # an import creates customers; it never updates one
        skip_diff = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._existing: set[str] = set()
        self._first_row: dict[str, int] = {}

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        column = self.fields["name"].column_name
        keys = []
        if column in (dataset.headers or []):
            for number, name in enumerate(dataset[column], start=1):
                key = normalize_name(str(name or ""))
                if key:
                    keys.append(key)
                    self._first_row.setdefault(key, number)
        # Which of the file's names exist already: indexed look-ups in chunks.
        unique = sorted(set(keys))
        for start in range(0, len(unique), 1000):
            self._existing.update(
                Customer.objects.filter(names_in(unique[start : start + 1000])).values_list(
                    "name_normalized", flat=True
                )
            )

    derived_fields = (
        "name_normalized",
        "name_pinyin",
        "name_initials",
        "phone_digits",
        "custom",
        "owner",
        "department",
        "territory",
        "created_by",
        "previous_owner",
    )

    def check_row(self, instance, row, row_number, errors: dict) -> None:
        """A name that normalises like an existing customer's or an earlier row's is a row
        error (the look-ups were done in bulk by `before_import`); then the field checks."""
        if "name" not in errors:
            key = normalize_name(instance.name or "")
            if not key:
                errors["name"] = [_("Enter a name with letters or digits.")]
            elif key in self._existing:
                existing = Customer.objects.filter(name_normalized=key).first()
                errors["name"] = [
                    _("A customer with this name already exists: %(name)s.")
                    % {"name": existing.name if existing else instance.name}
                ]
            elif row_number is not None and self._first_row.get(key, row_number) < row_number:
                errors["name"] = [
                    _("The same customer as row %(row)s of this file.")
                    % {"row": self._first_row[key]}
                ]
        instance.refresh_keys()
        super().check_row(instance, row, row_number, errors)

    def save_batch(self, instances: list) -> None:
        services.customer_bulk_import(by=self.user, customers=instances, batch_size=self.BATCH)

    def get_export_queryset(self, *args, **kwargs):
        return super().get_export_queryset(*args, **kwargs).prefetch_related("tags")


class ContactResource(BulkImportMixin, _LabelledResource):
    """Contacts; the customer column holds the customer's name (matched after normalisation,
    among customers the importing user may change)."""

    id = fields.Field(attribute="id", column_name="id", readonly=True)
    customer = fields.Field(attribute="customer", column_name="customer")

    class Meta:
        model = Contact
        fields = (
            "id",
            "customer",
            "name",
            "title",
            "department_name",
            "mobile",
            "phone",
            "email",
            "wechat",
            "is_primary",
            "notes",
        )
        export_order = fields
        import_id_fields = ()  # rows never update: force_init_instance
        force_init_instance = True
        skip_diff = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].widget = _CustomerByNameWidget(self)

    derived_fields = ("customer", "name_pinyin", "name_initials", "custom", "created_by")

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        column = self.fields["customer"].column_name
        if column in (dataset.headers or []):
            self.fields["customer"].widget.load([str(v or "") for v in dataset[column]])

    def check_row(self, instance, row, row_number, errors: dict) -> None:
        if not (instance.name or "").strip() and "name" not in errors:
            errors["name"] = [_("This field is required.")]
        super().check_row(instance, row, row_number, errors)

    def save_batch(self, instances: list) -> None:
        fields = [f.attribute for f in self._row_fields if f.attribute != "customer"]
        if any(name.startswith("custom__") for name in fields):
            fields = [f for f in fields if not f.startswith("custom__")] + ["custom"]
        services.contact_bulk_import(
            by=self.user, contacts=instances, fields=fields, batch_size=self.BATCH
        )

    def export_field(self, field, instance, **kwargs):
        if field.attribute == "customer":
            return instance.customer.name
        return super().export_field(field, instance, **kwargs)

    def get_export_queryset(self, *args, **kwargs):
        return super().get_export_queryset(*args, **kwargs).select_related("customer")


class _CustomerByNameWidget(widgets.Widget):
    """A customer by (normalised) name, among those the importing user may change."""

    def __init__(self, resource):
        super().__init__()
        self.resource = resource
        self._cache: dict[str, Customer | None] = {}

    def _customers(self):
        user = self.resource.user
        if user is None:
            return Customer.objects.all()
        return Customer.objects.visible_to(user, "change")

    def load(self, names: list[str]) -> None:
        """Look up every customer a file names at once (chunks of 1,000 names)."""
        keys = sorted({k for k in map(normalize_name, names) if k} - set(self._cache))
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            found = {c.name_normalized: c for c in self._customers().filter(names_in(chunk))}
            for key in chunk:
                self._cache[key] = found.get(key)

    def clean(self, value, row=None, **kwargs):
        key = normalize_name(str(value or ""))
        if not key:
            raise ValueError(_("Name the customer."))
        if key not in self._cache:
            self._cache[key] = self._customers().filter(name_normalized=key).first()
        if self._cache[key] is None:
            raise ValueError(_("No customer '%(name)s' that you may change.") % {"name": value})
        return self._cache[key]

    def render(self, value, obj=None, **kwargs):
        return value.name if value is not None else ""
