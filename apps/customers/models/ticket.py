"""Service tickets and their history."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.org.models import Department
from apps.studio.models import CustomFieldsModel

from ..querysets import TicketQuerySet
from .customer import (
    Customer,
    _customer_grants_q,
    _customer_in_scope,
    _customer_scope_q,
    customer_shared_with,
)
from .rules import Priority


class Ticket(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("title",)

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    Priority = Priority

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets"
    )
    # Foreign keys of later issues (sales contracts, docs articles) kept as plain ids until
    # those apps exist; their migrations turn them into real keys.
    contract_id = models.BigIntegerField(_("contract"), null=True, blank=True)
    kb_article_id = models.BigIntegerField(_("knowledge-base article"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    response_due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    sla_due_at = models.DateTimeField(_("resolve by (SLA)"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    satisfaction_comment = models.CharField(_("satisfaction comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    is_overdue = models.BooleanField(_("overdue"), default=False)
    overdue_notified_at = models.DateTimeField(
        _("overdue notice sent"), null=True, blank=True, editable=False
    )
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)

    scope_owner_field = "assignee"
    scope_department_field = "department"
    objects = TicketQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="customers_ticket_satisfaction_range",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="customers_ticket_cust"),
            models.Index(fields=["assignee", "status"], name="customers_ticket_assignee"),
            models.Index(fields=["status", "sla_due_at"], name="customers_ticket_status_sla"),
            models.Index(fields=["department", "-created_at"], name="customers_ticket_dept"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        try:
            return reverse("customers:ticket-detail", args=[self.pk])
        except NoReverseMatch:
            return self.customer.get_absolute_url() if self.customer_id else ""

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)

    # Beyond the role scopes on tickets: whoever opened a ticket sees (and may change) it, and
    # whoever's customer scope covers its customer (the owner, their managers) sees it.
    @classmethod
    def scope_extra_q(cls, user, action):
        q = Q(created_by_id=user.pk) | _customer_grants_q(user, action)
        if action == "view":
            q |= _customer_scope_q(user)
        return q

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        if obj.created_by_id == user.pk:
            return True
        if action == "view" and _customer_in_scope(user, obj.customer):
            return True
        return customer_shared_with(user, obj.customer_id, action)


class TicketEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        ASSIGNED = "assigned", _("Assigned")
        STARTED = "started", _("Work started")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        RATED = "rated", _("Rated")
        OVERDUE = "overdue", _("Overdue")
        UPDATED = "updated", _("Updated")
        COMMENTED = "commented", _("Commented")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["ticket", "-at"], name="customers_tevent_ticket_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.ticket_id}"
