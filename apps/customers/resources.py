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
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from import_export import fields, widgets

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


class CustomerResource(_LabelledResource):
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
        use_bulk = True
        batch_size = 1000
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
                Customer.objects.filter(
                    name_normalized__in=unique[start : start + 1000]
                ).values_list("name_normalized", flat=True)
            )

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "name" not in errors:
            key = normalize_name(instance.name or "")
            row_number = kwargs.get("row_number")
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
        try:
            instance.refresh_keys()
            instance.full_clean(
                exclude=[
                    *errors.keys(),
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
                ],
                validate_constraints=False,
            )
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.create_instances and (using_transactions or not dry_run):
            try:
                services.customer_bulk_import(
                    by=self.user, customers=list(self.create_instances), batch_size=batch_size
                )
            except Exception as exc:  # noqa: BLE001 - reported per import, like import-export
                self.handle_import_error(result, exc, raise_errors)
            finally:
                self.create_instances.clear()

    def get_export_queryset(self, *args, **kwargs):
        return super().get_export_queryset(*args, **kwargs).prefetch_related("tags")


class ContactResource(_LabelledResource):
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

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if not (instance.name or "").strip() and "name" not in errors:
            errors["name"] = [_("This field is required.")]
        if errors:
            raise ValidationError(errors)

    def do_instance_save(self, instance, is_create):
        data = {
            f: getattr(instance, f)
            for f in (
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
        }
        data["custom"] = instance.custom or {}
        saved = services.contact_create(customer=instance.customer, by=self.user, data=data)
        instance.pk = saved.pk

    def export_field(self, field, instance, **kwargs):
        if field.attribute == "customer":
            return instance.customer.name
        return super().export_field(field, instance, **kwargs)

    def get_export_queryset(self, *args, **kwargs):
        return super().get_export_queryset(*args, **kwargs).select_related("customer")


class _CustomerByNameWidget(widgets.Widget):
    def __init__(self, resource):
        super().__init__()
        self.resource = resource
        self._cache: dict[str, Customer | None] = {}

    def clean(self, value, row=None, **kwargs):
        key = normalize_name(str(value or ""))
        if not key:
            raise ValueError(_("Name the customer."))
        if key not in self._cache:
            qs = Customer.objects.filter(name_normalized=key)
            user = self.resource.user
            if user is not None:
                qs = Customer.objects.visible_to(user, "change").filter(name_normalized=key)
            self._cache[key] = qs.first()
        if self._cache[key] is None:
            raise ValueError(_("No customer '%(name)s' that you may change.") % {"name": value})
        return self._cache[key]

    def render(self, value, obj=None, **kwargs):
        return value.name if value is not None else ""
