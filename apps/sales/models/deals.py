"""Pipelines and stages, opportunities (deals) with stage history, products and quotes."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet
from apps.studio.models import CustomFieldsModel

from ._common import ZERO, EventBase, money_field, user_fk
from .leads import Campaign, _url

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="sales_pipeline_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=100)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), default=10, validators=PERCENT
    )
    is_won = models.BooleanField(_("won stage"), default=False)
    is_lost = models.BooleanField(_("lost stage"), default=False)
    stalled_days = models.PositiveIntegerField(
        _("stalled after days"),
        null=True,
        blank=True,
        help_text=_(
            "A deal with no activity or stage change for this many days is stalled. "
            "Empty: the company default."
        ),
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="sales_stage_won_xor_lost"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="sales_stage_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} · {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class OpportunityQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=Opportunity.Status.OPEN)

    def with_weighted(self):
        """Annotate `weighted` = amount × probability / 100."""
        from django.db.models import DecimalField, ExpressionWrapper, F

        return self.annotate(
            weighted=ExpressionWrapper(
                F("amount") * F("probability") / Decimal(100),
                output_field=DecimalField(max_digits=16, decimal_places=2),
            )
        )


class Opportunity(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("name",)

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("from lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    amount = money_field(_("amount"))
    pipeline = models.ForeignKey(
        Pipeline,
        verbose_name=_("pipeline"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), default=10, validators=PERCENT
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)
    # The open stage the deal was in when it was lost (null: created lost, or not lost). Written
    # by `opportunity_move`, read by the funnel report as one GROUP BY instead of a stage-history
    # probe per lost deal (docs/benchmarks.md, "Reports").
    lost_from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("lost at stage"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(_("description"), blank=True)
    owner = user_fk(_("owner"), related_name="owned_opportunities", on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = user_fk(_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    stage_changed_at = models.DateTimeField(_("stage changed at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    stalled_warned_at = models.DateTimeField(
        _("stalled warning sent"), null=True, blank=True, editable=False
    )

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = OpportunityQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["updated_at", "lost_from_stage"])

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("export_opportunity", _("Can export opportunities")),
            ("assign_opportunity", _("Can assign opportunities to other people")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="sales_opportunity_probability_range",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_opportunity_amount"),
        ]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="sales_opp_owner_upd"),
            models.Index(fields=["department", "-updated_at"], name="sales_opp_dept_upd"),
            models.Index(fields=["-updated_at", "-id"], name="sales_opp_updated"),
            models.Index(fields=["stage", "-updated_at"], name="sales_opp_stage_upd"),
            models.Index(fields=["status", "expected_close_date"], name="sales_opp_status_close"),
            models.Index(fields=["customer"], name="sales_opp_customer"),
            # Covering indexes (PostgreSQL INCLUDE; plain indexes elsewhere) so the board's
            # per-stage totals and the forecast's month sums are index-only scans instead of
            # reading every deal row (docs/benchmarks.md, "Deals at 1M").
            models.Index(
                fields=["pipeline", "stage"],
                include=["amount", "probability"],
                name="sales_opp_board_totals",
            ),
            models.Index(
                fields=["owner", "pipeline", "stage"],
                include=["amount", "probability"],
                name="sales_opp_owner_board",
            ),
            models.Index(
                fields=["expected_close_date"],
                include=["owner", "department", "pipeline", "amount", "probability"],
                condition=models.Q(status="open"),
                name="sales_opp_open_forecast",
            ),
            models.Index(
                fields=["owner", "expected_close_date"],
                include=["department", "pipeline", "amount", "probability"],
                condition=models.Q(status="open"),
                name="sales_opp_owner_forecast",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return _url("sales:opportunity-detail", self.pk)

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class StageChange(models.Model):
    """Stage history: every move with its date (how long a deal sat in each stage)."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    actor = user_fk(_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["opportunity", "-at"], name="sales_stagechg_opp_at"),
            # The sales funnel report: "the stage a lost deal was lost at" is one probe per
            # lost deal (opportunity, lost stage ids) → its newest move (docs/benchmarks.md).
            models.Index(
                fields=["opportunity", "to_stage", "-at", "-id"], name="sales_stagechg_lost"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class OpportunityEvent(EventBase):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        MOVED = "moved", _("Stage changed")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        REOPENED = "reopened", _("Reopened")
        ASSIGNED = "assigned", _("Assigned")
        STALLED = "stalled", _("Stalled warning")

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="events",
    )

    class Meta(EventBase.Meta):
        verbose_name = _("opportunity event")
        verbose_name_plural = _("opportunity events")
        indexes = [models.Index(fields=["opportunity", "-at"], name="sales_oppevent_opp_at")]


class ProductCategory(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Product(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("sku", "name")

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
    )
    unit = models.CharField(_("unit"), max_length=20, default="套")
    price = money_field(_("list price"))
    cost = money_field(_("cost price"))
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["category__order", "name"]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    def get_absolute_url(self) -> str:
        return _url("sales:product-detail", self.pk)


class Quote(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("number", "title")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for discount approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SENT = "sent", _("Sent to the customer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quotes",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    # Totals are computed from the lines by the services (`quote_recalculate`) and stored, so
    # lists and reports never sum lines per row.
    subtotal = money_field(_("list total"))
    discount_amount = money_field(_("discount"))
    total = money_field(_("total"))
    max_discount = models.DecimalField(
        _("largest line discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        editable=False,
    )
    terms = models.TextField(_("terms"), blank=True)
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        verbose_name=_("approval"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = user_fk(_("owner"), related_name="owned_quotes", on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = user_fk(_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(total__lte=models.F("subtotal")),
                name="sales_quote_total_range",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="sales_quote_owner_created"),
            models.Index(fields=["department", "-created_at"], name="sales_quote_dept_created"),
            models.Index(fields=["customer"], name="sales_quote_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.number} · {self.title}"

    def get_absolute_url(self) -> str:
        return _url("sales:quote-detail", self.pk)


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = money_field(_("unit price"))
    discount = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO, validators=PERCENT
    )
    amount = money_field(_("line total"), editable=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount__gte=0, discount__lte=100), name="sales_quoteline_discount"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_quoteline_quantity"),
        ]

    def __str__(self) -> str:
        return self.description or str(self.product or "")

    @property
    def list_amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))

    def compute_amount(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return (gross * (Decimal(100) - self.discount) / Decimal(100)).quantize(Decimal("0.01"))


class QuoteEvent(EventBase):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        SUBMITTED = "submitted", _("Sent for discount approval")
        APPROVED = "approved", _("Discount approved")
        REJECTED = "rejected", _("Discount rejected")
        SENT = "sent", _("Sent to the customer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CONTRACTED = "contracted", _("Contract created")

    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="events"
    )

    class Meta(EventBase.Meta):
        verbose_name = _("quote event")
        verbose_name_plural = _("quote events")
        indexes = [models.Index(fields=["quote", "-at"], name="sales_quoteevent_quote_at")]
