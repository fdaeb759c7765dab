"""Custom fields and form layouts (DESIGN §4.2).

A model gets custom fields by inheriting `CustomFieldsModel`: values live in its `custom`
JSONField (JSONB with a GIN index on PostgreSQL), definitions in `FieldDefinition` rows. One
function, `apps.studio.validation.validate_custom`, turns raw input into clean values or field
errors for forms, API, import and automation alike.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    TEXTAREA = "textarea", _("Long text")
    INTEGER = "integer", _("Number")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
    MULTICHOICE = "multichoice", _("Multiple choice")
    USER = "user", _("User")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    URL = "url", _("URL")


TEXT_TYPES = {FieldType.TEXT, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE, FieldType.URL}
NUMBER_TYPES = {FieldType.INTEGER, FieldType.DECIMAL}
CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTICHOICE}
UNIQUE_TYPES = {
    FieldType.TEXT,
    FieldType.INTEGER,
    FieldType.DECIMAL,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.CHOICE,
    FieldType.USER,
    FieldType.EMAIL,
    FieldType.PHONE,
    FieldType.URL,
}

key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$",
    _("Use lower-case letters, digits and underscores, starting with a letter."),
)


class FieldDefinition(models.Model):
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("model"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(
        _("key"),
        max_length=50,
        validators=[key_validator],
        help_text=_("Stored name, e.g. 'erp_code'. Cannot change later."),
    )
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(
        _("type"), max_length=20, choices=FieldType.choices, default=FieldType.TEXT
    )
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(_("unique"), default=False)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('For choice fields: a list of {"value", "label"}.'),
    )
    min_value = models.DecimalField(
        _("minimum"),
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Smallest number, or shortest text length."),
    )
    max_value = models.DecimalField(
        _("maximum"),
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Largest number, or longest text length."),
    )
    decimal_places = models.PositiveSmallIntegerField(_("decimal places"), default=2)
    regex = models.CharField(
        _("pattern"),
        max_length=200,
        blank=True,
        help_text=_("Regular expression the whole value must match."),
    )
    regex_message = models.CharField(_("pattern message"), max_length=200, blank=True)
    default = models.JSONField(_("default"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    section = models.CharField(
        _("section"),
        max_length=100,
        blank=True,
        help_text=_("Form layout section this field appears in."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    show_in_list = models.BooleanField(_("show in lists"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["content_type_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "key"], name="studio_field_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _definitions_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _definitions_changed()
        return result

    @property
    def model_label(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"

    def choice_values(self) -> list[str]:
        return [str(c["value"]) for c in self.choices or []]

    def choice_label(self, value) -> str:
        for c in self.choices or []:
            if str(c["value"]) == str(value):
                return str(c.get("label") or c["value"])
        return str(value)

    def clean(self) -> None:
        from .registry import is_registered

        errors: dict[str, list] = {}
        model = self.content_type.model_class() if self.content_type_id else None
        if model is not None and not is_registered(model):
            errors.setdefault("content_type", []).append(_("This model has no custom fields."))
        if model is not None and self.key:
            builtin = {f.name for f in model._meta.get_fields()} | {
                getattr(f, "attname", f.name) for f in model._meta.get_fields()
            }
            if self.key in builtin:
                errors.setdefault("key", []).append(
                    _("'%(key)s' is already a built-in field of this model.") % {"key": self.key}
                )
        if self.pk:
            old = FieldDefinition.objects.filter(pk=self.pk).values("key", "type").first()
            if old and old["key"] != self.key:
                errors.setdefault("key", []).append(_("The key of a field cannot change."))
        if self.regex:
            try:
                re.compile(self.regex)
            except re.error as exc:
                errors.setdefault("regex", []).append(
                    _("Not a valid pattern: %(error)s") % {"error": exc}
                )
        if self.type in CHOICE_TYPES:
            try:
                self.choices = normalise_choices(self.choices)
            except ValidationError as exc:
                errors.setdefault("choices", []).extend(exc.messages)
            else:
                if not self.choices:
                    errors.setdefault("choices", []).append(_("A choice field needs choices."))
        elif self.choices:
            self.choices = []
        if self.unique and self.type not in UNIQUE_TYPES:
            errors.setdefault("unique", []).append(_("Fields of this type cannot be unique."))
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            errors.setdefault("max_value", []).append(_("Maximum is below minimum."))
        if self.type == FieldType.DECIMAL and self.decimal_places > 6:
            errors.setdefault("decimal_places", []).append(_("At most 6 decimal places."))
        if not errors and self.default not in (None, "", []):
            from .validation import clean_value

            try:
                self.default = clean_value(self, self.default, check_unique=False)
            except ValidationError as exc:
                errors.setdefault("default", []).extend(exc.messages)
        if errors:
            raise ValidationError(errors)


def normalise_choices(raw) -> list[dict]:
    """Accept ["a", "b"], [{"value", "label"}] or "a|A\\nb|B"; return [{"value", "label"}]."""
    if isinstance(raw, str):
        raw = [line for line in raw.splitlines() if line.strip()]
    if not isinstance(raw, list):
        raise ValidationError(_("Choices must be a list."))
    out, seen = [], set()
    for item in raw:
        if isinstance(item, dict):
            value, label = item.get("value"), item.get("label")
        elif isinstance(item, str) and "|" in item:
            value, label = (part.strip() for part in item.split("|", 1))
        else:
            value, label = item, item
        if value in (None, ""):
            raise ValidationError(_("Every choice needs a value."))
        value = str(value).strip()
        if value in seen:
            raise ValidationError(_("Choice '%(value)s' is listed twice.") % {"value": value})
        seen.add(value)
        out.append({"value": value, "label": str(label if label not in (None, "") else value)})
    return out


def _definitions_changed() -> None:
    # Cache invalidation (see apps.org.models._policies_changed for why it is here).
    from .registry import definitions_changed

    definitions_changed()
    transaction.on_commit(definitions_changed)


class UniqueCustomValue(models.Model):
    """One row per (unique custom field, value): the database keeps custom values unique.

    A unique index over this table makes two simultaneous writes of one value impossible,
    on PostgreSQL as on SQLite; `CustomFieldsModel.save()` keeps it in step.
    """

    definition = models.ForeignKey(FieldDefinition, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=255)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["definition", "value"], name="studio_unique_value"),
        ]
        indexes = [models.Index(fields=["definition", "object_id"])]

    def __str__(self) -> str:
        return f"{self.definition_id}:{self.value}"


class CustomFieldsModel(models.Model):
    """Inherit to give a model custom fields (and register it with studio automatically)."""

    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Keeping the unique-value index in step is part of storing the row, like a DB index:
        # it happens in the same transaction, whoever saves (service, admin, import).
        from .validation import sync_unique_values

        with transaction.atomic():
            super().save(*args, **kwargs)
            sync_unique_values(self)

    def delete(self, *args, **kwargs):
        from .validation import drop_unique_values

        with transaction.atomic():
            drop_unique_values(self)
            return super().delete(*args, **kwargs)


class FormLayout(models.Model):
    """Per-model form layout: sections, their order and which optional built-in fields show."""

    content_type = models.OneToOneField(
        ContentType, verbose_name=_("model"), on_delete=models.CASCADE, related_name="+"
    )
    hidden_fields = models.JSONField(
        _("hidden optional fields"),
        default=list,
        blank=True,
        help_text=_("Optional built-in fields not shown on forms."),
    )

    class Meta:
        verbose_name = _("form layout")
        verbose_name_plural = _("form layouts")

    def __str__(self) -> str:
        return str(self.content_type.name)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _definitions_changed()


class FormSection(models.Model):
    layout = models.ForeignKey(FormLayout, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(_("title"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    fields = models.JSONField(
        _("fields"), default=list, blank=True, help_text=_("Field names and custom keys, in order.")
    )
    columns = models.PositiveSmallIntegerField(
        _("columns"), default=2, choices=[(1, "1"), (2, "2"), (3, "3")]
    )
    collapsed = models.BooleanField(_("collapsed"), default=False)

    class Meta:
        verbose_name = _("form section")
        verbose_name_plural = _("form sections")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _definitions_changed()


# --- list preferences and Excel imports (issue 3 pages) -------------------------------------


class ListPreference(models.Model):
    """A small per-user setting of one list page (e.g. the columns chosen on the customers list)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("list"), max_length=100)
    value = models.JSONField(_("value"), default=dict, blank=True)

    class Meta:
        verbose_name = _("list preference")
        verbose_name_plural = _("list preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="studio_listpref_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"


def _private_storage():
    from .imports import private_storage

    return private_storage()


class ImportJob(models.Model):
    """One Excel/CSV import: uploaded, previewed (dry run), then committed all-or-nothing.

    The generic part lives in `apps.studio.imports`; `resource` is the dotted path of a
    `WeftResource` subclass, so any app (customers today, leads later) reuses it.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        PREVIEWING = "previewing", _("Checking")
        PREVIEWED = "previewed", _("Checked")
        COMMITTING = "committing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    resource = models.CharField(_("resource"), max_length=200)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", storage=_private_storage)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    imported_rows = models.PositiveIntegerField(_("rows imported"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="studio_import_user")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0 if self.status not in (self.Status.PREVIEWED, self.Status.DONE) else 100
        return min(100, int(self.processed_rows * 100 / self.total_rows))

    @property
    def running(self) -> bool:
        return self.status in (self.Status.PREVIEWING, self.Status.COMMITTING)


from .automation_models import (  # noqa: E402, F401 - automation models live in their own module
    AutomationEvent,
    AutomationRule,
    Operator,
    RuleAction,
    RuleCondition,
    RuleRun,
    Trigger,
)
