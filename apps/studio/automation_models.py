"""Automation rules (DESIGN §4.3): rule, conditions, ordered actions, the event outbox and the
run log. Imported by `apps.studio.models`; the engine lives in `apps.studio.automation`."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    CREATED = "created", _("Record created")
    UPDATED = "updated", _("Record updated")
    FIELD_CHANGED = "field_changed", _("A field changed")
    SCHEDULE = "schedule", _("Daily, relative to a date field")


class Operator(models.TextChoices):
    EQ = "eq", _("equals")
    NE = "ne", _("does not equal")
    GT = "gt", _("greater than")
    GTE = "gte", _("greater than or equal")
    LT = "lt", _("less than")
    LTE = "lte", _("less than or equal")
    CONTAINS = "contains", _("contains")
    NOT_CONTAINS = "not_contains", _("does not contain")
    STARTS_WITH = "starts_with", _("starts with")
    IN = "in", _("is one of")
    NOT_IN = "not_in", _("is none of")
    IS_EMPTY = "is_empty", _("is empty")
    IS_NOT_EMPTY = "is_not_empty", _("is not empty")
    CHANGED = "changed", _("changed in this event")


def _automation_changed() -> None:
    from .automation.registry import rules_changed

    rules_changed()


class AutomationRule(models.Model):
    class Match(models.TextChoices):
        ALL = "all", _("All conditions")
        ANY = "any", _("Any condition")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("model"), on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(
        _("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.CREATED
    )
    trigger_field = models.CharField(
        _("field"),
        max_length=60,
        blank=True,
        help_text=_("For 'a field changed': the field to watch (custom fields: custom.<key>)."),
    )
    from_value = models.CharField(
        _("from value"),
        max_length=200,
        blank=True,
        help_text=_("Only when it changed from this value (stored value, empty: any)."),
    )
    to_value = models.CharField(
        _("to value"),
        max_length=200,
        blank=True,
        help_text=_("Only when it changed to this value (stored value, empty: any)."),
    )
    schedule_field = models.CharField(
        _("date field"),
        max_length=60,
        blank=True,
        help_text=_("For the daily schedule: the date or date-time field the run is relative to."),
    )
    schedule_offset_days = models.IntegerField(
        _("offset in days"),
        default=0,
        help_text=_("Run this many days after the date (negative: before; -3 = 3 days before)."),
    )
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    order = models.PositiveIntegerField(_("order"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["content_type_id", "order", "id"]
        indexes = [models.Index(fields=["content_type", "active"], name="studio_rule_model_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _automation_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _automation_changed()
        return result

    @property
    def model_label(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"

    def clean(self) -> None:
        from .automation import registry

        if self.content_type_id is None:
            return
        spec = registry.spec_for_ct(self.content_type)
        if spec is None:
            raise ValidationError({"content_type": _("This model is not open to automation.")})
        errors = {}
        if self.trigger == Trigger.FIELD_CHANGED:
            if not self.trigger_field:
                errors["trigger_field"] = _("Choose the field to watch.")
            elif not spec.has_field(self.trigger_field):
                errors["trigger_field"] = _("Unknown field.")
        if self.trigger == Trigger.SCHEDULE:
            if not self.schedule_field:
                errors["schedule_field"] = _("Choose the date field.")
            elif spec.field_kind(self.schedule_field) not in ("date", "datetime"):
                errors["schedule_field"] = _("Choose a date or date-time field.")
        if errors:
            raise ValidationError(errors)


class RuleCondition(models.Model):
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(
        _("field"), max_length=60, help_text=_("Field name; custom fields: custom.<key>.")
    )
    operator = models.CharField(
        _("operator"), max_length=20, choices=Operator.choices, default=Operator.EQ
    )
    value = models.CharField(
        _("value"),
        max_length=500,
        blank=True,
        help_text=_(
            "Stored value to compare with. Lists (is one of): comma separated. "
            "Dates: 2025-01-31, today, today+3, today-7."
        ),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.field} {self.operator} {self.value}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _automation_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _automation_changed()
        return result

    def clean(self) -> None:
        from .automation import conditions, registry

        rule = getattr(self, "rule", None)
        if rule is None or rule.content_type_id is None:
            return
        spec = registry.spec_for_ct(rule.content_type)
        if spec is None:
            return
        if not spec.has_field(self.field):
            raise ValidationError({"field": _("Unknown field.")})
        conditions.check(spec, self.field, self.operator, self.value)


class RuleAction(models.Model):
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="actions")
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("action"), max_length=60)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # Round-robin position for "assign owner" (kept here so every worker shares it).
    cursor = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        from .automation import registry

        spec = registry.action(self.kind)
        return str(spec.label) if spec else self.kind

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _automation_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _automation_changed()
        return result

    def clean(self) -> None:
        from .automation import registry

        spec = registry.action(self.kind)
        if spec is None:
            raise ValidationError({"kind": _("Unknown action.")})
        rule = getattr(self, "rule", None)
        model_spec = (
            registry.spec_for_ct(rule.content_type)
            if rule is not None and rule.content_type_id
            else None
        )
        if model_spec is None:
            return
        if not spec.applies_to(model_spec):
            raise ValidationError({"kind": _("This action does not apply to this model.")})
        self.params = spec.clean_params(self.params or {}, model_spec)


class AutomationEvent(models.Model):
    """Outbox row: a committed change of a record that rules may react to. Written in the same
    transaction as the change, so no event is lost when the broker or a worker is down."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Evaluated")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    created = models.BooleanField(default=False)
    changes = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("automation event")
        verbose_name_plural = _("automation events")
        indexes = [models.Index(fields=["status", "created_at"], name="studio_event_pending_idx")]

    def __str__(self) -> str:
        return (
            f"{self.content_type_id}:{self.object_id} ({'created' if self.created else 'updated'})"
        )


class RuleRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    rule = models.ForeignKey(
        AutomationRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="runs"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField(_("record id"))
    record_label = models.CharField(_("record"), max_length=300, blank=True)
    event = models.ForeignKey(
        AutomationEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    actions_done = models.JSONField(_("actions done"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.record_label or self.object_id}: {self.status}"
