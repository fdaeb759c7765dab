"""Contacts of a customer (with reporting lines) and follow-up records.

Both are scoped through their customer: who may see a customer sees its contacts and its
follow-ups (the customer's owner and department decide; pool customers' rows are visible to
holders of the view permission; a customer shared through guardian opens its rows too), and the
author of a follow-up always sees it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.studio.models import CustomFieldsModel

from ..normalize import pinyin_keys
from ..querysets import ContactQuerySet, FollowUpQuerySet
from .customer import Customer, _customer_grants_q, customer_shared_with


class CustomerChildScope:
    """Scope rule shared by rows that belong to a customer."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"
    # A second owner-like column (the author) that always sees its rows; None: none.
    scope_author_field: str | None = None

    @classmethod
    def scope_extra_q(cls, user, action):
        q = _customer_grants_q(user, action)
        opts = cls._meta
        if action == "view" and user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            q |= Q(customer__owner__isnull=True)
        if cls.scope_author_field:
            q |= Q(**{cls.scope_author_field: user.pk})
        return q

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        opts = cls._meta
        if cls.scope_author_field and getattr(obj, f"{cls.scope_author_field}_id") == user.pk:
            return True
        if (
            action == "view"
            and obj.customer.owner_id is None
            and user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
        ):
            return True
        return customer_shared_with(user, obj.customer_id, action)


class Contact(CustomerChildScope, CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("name", "name_pinyin", "name_initials")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(_("pinyin"), max_length=300, blank=True, editable=False)
    name_initials = models.CharField(
        _("pinyin initials"), max_length=100, blank=True, editable=False
    )
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department_name = models.CharField(_("department"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("email"), max_length=200, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    notes = models.TextField(_("notes"), blank=True)
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

    scope_author_field = "created_by"
    objects = ContactQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["name_pinyin", "name_initials", "updated_at"])

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_primary=True),
                name="customers_contact_one_primary",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "name"], name="customers_contact_cust"),
            models.Index(
                fields=["name"], name="customers_contact_name", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["name_initials"],
                name="customers_contact_initials",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["name_pinyin"],
                name="customers_contact_pinyin",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["mobile"],
                name="customers_contact_mobile",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["email"], name="customers_contact_email", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url() if self.customer_id else ""

    def clean(self) -> None:
        if self.reports_to_id is not None:
            if self.reports_to_id == self.pk:
                raise ValidationError({"reports_to": _("A contact cannot report to themselves.")})
            boss = self.reports_to
            if boss.customer_id != self.customer_id:
                raise ValidationError(
                    {"reports_to": _("The manager must be a contact of the same customer.")}
                )
            node, seen = boss, set()
            while node is not None and node.pk not in seen:
                if self.pk is not None and node.pk == self.pk:
                    raise ValidationError({"reports_to": _("The reporting line makes a loop.")})
                seen.add(node.pk)
                node = node.reports_to

    def save(self, *args, **kwargs):
        self.name = (self.name or "").strip()
        self.name_pinyin, self.name_initials = pinyin_keys(self.name)
        self.email = (self.email or "").strip().lower()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = list(set(update_fields) | {"name_pinyin", "name_initials"})
        super().save(*args, **kwargs)


class FollowUp(CustomerChildScope, models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Phone call")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        WECHAT = "wechat", _("WeChat")
        EMAIL = "email", _("Email")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    # The sales app turns this into a foreign key to its Opportunity (customers imports no
    # other domain app, and the sales models do not exist yet).
    opportunity_id = models.BigIntegerField(_("opportunity"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.CALL)
    content = models.TextField(_("content"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_author_field = "owner"
    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="customers_fu_cust_at"),
            models.Index(fields=["owner", "-occurred_at"], name="customers_fu_owner_at"),
            models.Index(
                fields=["next_follow_up_at"],
                name="customers_fu_due",
                condition=Q(reminded_at__isnull=True, next_follow_up_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url() if self.customer_id else ""

    def clean(self) -> None:
        if self.contact_id is not None and self.contact.customer_id != self.customer_id:
            raise ValidationError({"contact": _("The contact belongs to another customer.")})
