"""Contracts (orders), payment plans, payments received (回款) and invoice requests (开票)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet
from apps.studio.models import CustomFieldsModel

from ._common import EventBase, money_field, user_fk
from .deals import Opportunity, Quote
from .leads import _url


class ContractQuerySet(ScopedQuerySet):
    def with_receivable(self):
        return self.annotate(receivable=F("amount") - F("received_amount"))

    def active(self):
        return self.filter(
            status__in=[
                Contract.Status.APPROVED,
                Contract.Status.SIGNED,
                Contract.Status.EXECUTING,
                Contract.Status.COMPLETED,
            ]
        )


class Contract(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("number", "title")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SIGNED = "signed", _("Signed")
        EXECUTING = "executing", _("Executing")
        COMPLETED = "completed", _("Completed")
        TERMINATED = "terminated", _("Terminated")

    class Delivery(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")
        IN_PRODUCTION = "in_production", _("In production")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")

    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
    )
    quote = models.ForeignKey(
        Quote,
        verbose_name=_("quote"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
    )
    amount = money_field(_("amount"))
    signed_date = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("starts"), null=True, blank=True)
    end_date = models.DateField(_("ends"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    delivery_status = models.CharField(
        _("delivery status"),
        max_length=20,
        choices=Delivery.choices,
        default=Delivery.PENDING_REVIEW,
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
    # Kept by the payment and invoice services under a row lock on the contract; the check
    # constraints below make overpayment and over-invoicing impossible even for a bug.
    received_amount = money_field(_("received"), editable=False)
    invoiced_amount = money_field(_("invoiced"), editable=False)
    owner = user_fk(_("owner"), related_name="owned_contracts", on_delete=models.PROTECT)
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

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = ContractQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_contract", _("Can export contracts")),
            ("deliver_contract", _("Can change the delivery status of contracts")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(received_amount__gte=0) & Q(received_amount__lte=F("amount")),
                name="sales_contract_no_overpayment",
            ),
            models.CheckConstraint(
                condition=Q(invoiced_amount__gte=0) & Q(invoiced_amount__lte=F("amount")),
                name="sales_contract_no_overinvoicing",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="sales_contract_dates_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="sales_contract_owner"),
            models.Index(fields=["department", "-created_at"], name="sales_contract_dept"),
            models.Index(fields=["customer"], name="sales_contract_customer"),
            models.Index(fields=["status", "-created_at"], name="sales_contract_status"),
        ]

    def __str__(self) -> str:
        return f"{self.number} · {self.title}"

    def get_absolute_url(self) -> str:
        return _url("sales:contract-detail", self.pk)

    @property
    def receivable_amount(self):
        return self.amount - self.received_amount

    @property
    def invoiceable_amount(self):
        return self.amount - self.invoiced_amount


class ContractEvent(EventBase):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Approval withdrawn")
        SIGNED = "signed", _("Signed")
        EXECUTING = "executing", _("Execution started")
        COMPLETED = "completed", _("Completed")
        TERMINATED = "terminated", _("Terminated")
        DELIVERY = "delivery", _("Delivery status changed")
        PLAN_CHANGED = "plan_changed", _("Payment plan changed")
        PAYMENT = "payment", _("Payment received")
        PAYMENT_REMOVED = "payment_removed", _("Payment removed")
        INVOICE_REQUESTED = "invoice_requested", _("Invoice requested")
        INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
        INVOICE_REJECTED = "invoice_rejected", _("Invoice rejected")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="events"
    )

    class Meta(EventBase.Meta):
        verbose_name = _("contract event")
        verbose_name_plural = _("contract events")
        indexes = [models.Index(fields=["contract", "-at"], name="sales_contractevent_at")]


class ContractChildQuerySet(ScopedQuerySet):
    """Plans, payments and invoices are seen through their contract's scope."""


class PaymentPlan(models.Model):
    """One instalment: how much is due when."""

    contract = models.ForeignKey(
        Contract,
        verbose_name=_("contract"),
        on_delete=models.CASCADE,
        related_name="payment_plans",
    )
    seq = models.PositiveSmallIntegerField(_("instalment"), default=1)
    due_date = models.DateField(_("due date"))
    amount = money_field(_("amount"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    reminded_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_after_at = models.DateTimeField(null=True, blank=True, editable=False)

    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"
    objects = ContractChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment plan")
        verbose_name_plural = _("payment plans")
        ordering = ["contract", "due_date", "seq"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_plan_amount_positive")
        ]
        indexes = [models.Index(fields=["due_date"], name="sales_plan_due")]

    def __str__(self) -> str:
        return f"{self.contract_id} #{self.seq} · {self.due_date}"


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        ACCEPTANCE_BILL = "acceptance_bill", _("Bank acceptance bill")
        ALIPAY = "alipay", _("Alipay")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        OTHER = "other", _("Other")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="payments"
    )
    plan = models.ForeignKey(
        PaymentPlan,
        verbose_name=_("instalment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
    )
    amount = money_field(_("amount"))
    received_at = models.DateField(_("received on"), default=timezone.localdate)
    method = models.CharField(
        _("method"), max_length=20, choices=Method.choices, default=Method.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = user_fk(_("recorded by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"
    objects = ContractChildQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        permissions = [("export_payment", _("Can export payments"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_payment_positive")
        ]
        indexes = [models.Index(fields=["-received_at", "-id"], name="sales_payment_received")]

    def __str__(self) -> str:
        return f"{self.contract_id} · {self.amount} · {self.received_at}"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        VAT_SPECIAL = "vat_special", _("VAT special invoice")
        VAT_ORDINARY = "vat_ordinary", _("VAT ordinary invoice")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved, to be issued")
        ISSUED = "issued", _("Issued")
        REJECTED = "rejected", _("Rejected")

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(
        _("type"), max_length=20, choices=Kind.choices, default=Kind.VAT_ORDINARY
    )
    title = models.CharField(_("invoice title (抬头)"), max_length=200)
    tax_number = models.CharField(_("taxpayer number"), max_length=30, blank=True)
    amount = money_field(_("amount"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    address_phone = models.CharField(_("address and phone"), max_length=300, blank=True)
    bank_account = models.CharField(_("bank and account"), max_length=300, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=50, blank=True)
    issued_date = models.DateField(_("issued on"), null=True, blank=True)
    reject_reason = models.CharField(_("reason rejected"), max_length=300, blank=True)
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        verbose_name=_("approval"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_by = user_fk(_("requested by"))
    issued_by = user_fk(_("issued by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"
    objects = ContractChildQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_invoice", _("Can export invoices")),
            ("issue_invoice", _("Can issue or reject invoices")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_invoice_positive"),
            models.CheckConstraint(
                condition=~Q(status="issued") | ~Q(invoice_number=""),
                name="sales_invoice_issued_has_number",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="sales_invoice_status")]

    def __str__(self) -> str:
        return f"{self.contract_id} · {self.title} · {self.amount}"
