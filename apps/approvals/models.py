"""Approvals (DESIGN §4.5): admin-defined chains as data, requests walking a frozen copy of them.

`ApprovalTemplate` + ordered `ApprovalStep` rows define a chain. Submitting a request freezes the
template (steps, approver rules, conditions, fallback approver, extra fields) into
`ApprovalRequest.chain`, so editing a template never changes a request in flight. One generic
viewflow flow (`apps.approvals.flows.ApprovalFlow`) walks that frozen chain; its process rows are
`ApprovalProcess` (a proxy of viewflow's Process), its approver tasks are viewflow `Task` rows.
The business history a person reads is `ApprovalAction` rows; who may see a request beyond the
role scopes is kept in `ApprovalParticipant` rows (approvers and CC recipients).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from viewflow import jsonstore
from viewflow.workflow.models import Process

from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet
from apps.studio.models import CustomFieldsModel


class Kind(models.TextChoices):
    LEAVE = "leave", _("Leave")
    EXPENSE = "expense", _("Expense claim")
    PURCHASE = "purchase", _("Purchase")
    CONTRACT = "contract", _("Contract")
    DISCOUNT = "discount", _("Quote discount")
    INVOICE = "invoice", _("Invoice request")
    GENERAL = "general", _("General")


class ApproverType(models.TextChoices):
    USERS = "users", _("Named users")
    ROLE = "role", _("Members of a role")
    MANAGER = "manager", _("Initiator's direct manager")
    NTH_MANAGER = "nth_manager", _("N-th level manager of the initiator")
    DEPARTMENT_HEAD = "department_head", _("Head of the initiator's department")
    SUBJECT_USER = "subject_user", _("A user field of the subject")


class SignMode(models.TextChoices):
    COUNTERSIGN = "countersign", _("Countersign (all must approve)")
    ORSIGN = "orsign", _("Or-sign (any one decides)")


subject_field_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$",
    _("Field names separated by dots, e.g. 'owner' or 'owner.manager'."),
)


class ApprovalTemplate(models.Model):
    code = models.SlugField(
        _("code"),
        max_length=50,
        unique=True,
        help_text=_("Stable name other apps and the API use, e.g. 'contract'."),
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    start_roles = models.ManyToManyField(
        Group,
        verbose_name=_("roles that may start it"),
        blank=True,
        related_name="+",
        help_text=_("Leave roles and departments empty to let everyone start it."),
    )
    start_departments = models.ManyToManyField(
        Department,
        verbose_name=_("departments that may start it"),
        blank=True,
        related_name="+",
    )
    fallback_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fallback approver"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Gets a step whose approver rule finds nobody (no manager, empty role). "
            "Empty: the first superuser."
        ),
    )
    extra_fields = models.JSONField(
        _("extra fields"),
        default=list,
        blank=True,
        help_text=_(
            'More fields on the request form: a list of {"key", "label", "type", '
            '"required", "choices", "min_value", "max_value", "help_text"}; '
            "types as for custom fields."
        ),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("approval template")
        verbose_name_plural = _("approval templates")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .data import validate_extra_field_specs

        try:
            self.extra_fields = validate_extra_field_specs(self.extra_fields, kind=self.kind)
        except ValidationError as exc:
            raise ValidationError({"extra_fields": exc.messages}) from None


class ApprovalStep(models.Model):
    template = models.ForeignKey(
        ApprovalTemplate,
        verbose_name=_("template"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=100)
    approver_type = models.CharField(
        _("approvers"), max_length=20, choices=ApproverType.choices, default=ApproverType.MANAGER
    )
    approver_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("named users"),
        blank=True,
        related_name="+",
    )
    approver_role = models.ForeignKey(
        Group,
        verbose_name=_("role"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    level = models.PositiveSmallIntegerField(
        _("manager level"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("For the n-th level manager: 1 = direct manager, 2 = their manager, …"),
    )
    subject_field = models.CharField(
        _("subject user field"),
        max_length=100,
        blank=True,
        validators=[subject_field_validator],
        help_text=_("For a user field of the subject, e.g. 'owner' or 'owner.manager'."),
    )
    mode = models.CharField(
        _("sign mode"), max_length=20, choices=SignMode.choices, default=SignMode.ORSIGN
    )
    condition = models.JSONField(
        _("condition"),
        default=dict,
        blank=True,
        help_text=_("The step applies only when the condition holds (empty: always)."),
    )
    cc_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CC users"),
        blank=True,
        related_name="+",
    )
    cc_roles = models.ManyToManyField(
        Group,
        verbose_name=_("CC roles"),
        blank=True,
        related_name="+",
    )
    allow_return = models.BooleanField(
        _("allow return to initiator"),
        default=True,
        help_text=_("Approvers may send the request back to the initiator for changes."),
    )
    due_hours = models.PositiveIntegerField(
        _("due after (hours)"),
        null=True,
        blank=True,
        help_text=_("Remind the approver and alert the admin when the step waits longer."),
    )

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .conditions import normalise_condition

        errors: dict[str, list] = {}
        try:
            self.condition = normalise_condition(self.condition)
        except ValidationError as exc:
            errors["condition"] = exc.messages
        if self.approver_type == ApproverType.ROLE and self.approver_role_id is None:
            errors["approver_role"] = [_("Choose the role whose members approve.")]
        if self.approver_type == ApproverType.SUBJECT_USER and not self.subject_field:
            errors["subject_field"] = [_("Name the subject's user field.")]
        if errors:
            raise ValidationError(errors)


class ApprovalRequestQuerySet(ScopedQuerySet):
    def pending(self):
        return self.filter(status=ApprovalRequest.Status.PENDING)


class ApprovalRequest(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("title",)

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RETURNED = "returned", _("Returned")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    template = models.ForeignKey(
        ApprovalTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="requests",
    )
    title = models.CharField(_("title"), max_length=200)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    data = models.JSONField(_("form data"), default=dict, blank=True)
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("initiator"),
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    chain = models.JSONField(
        _("frozen chain"),
        default=dict,
        blank=True,
        help_text=_("The template as it was at submission."),
    )
    current_step = models.SmallIntegerField(_("current step"), null=True, blank=True)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    subject_type = models.ForeignKey(
        ContentType,
        verbose_name=_("subject type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    subject_id = models.BigIntegerField(_("subject id"), null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    process = models.OneToOneField(
        Process,
        verbose_name=_("current process"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_request",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_owner_field = "initiator"
    scope_department_field = "department"
    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["initiator", "status"], name="approvals_req_init_status"),
            models.Index(fields=["status", "created_at"], name="approvals_req_status"),
            models.Index(fields=["subject_type", "subject_id"], name="approvals_req_subject"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("approvals:detail", args=[self.pk])

    # Beyond the role scopes: the initiator always sees (and may withdraw) their request, and
    # everyone who was an approver or in CC on it sees it.
    @classmethod
    def scope_extra_q(cls, user, action):
        q = Q(initiator_id=user.pk)
        if action == "view":
            q |= Q(pk__in=ApprovalParticipant.objects.filter(user_id=user.pk).values("request_id"))
        return q

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        if obj.initiator_id == user.pk:
            return True
        if action != "view":
            return False
        return ApprovalParticipant.objects.filter(request_id=obj.pk, user_id=user.pk).exists()

    @property
    def steps(self) -> list[dict]:
        return list((self.chain or {}).get("steps", []))

    @property
    def current_step_name(self) -> str:
        steps = self.steps
        if self.current_step is not None and 0 <= self.current_step < len(steps):
            return steps[self.current_step]["name"]
        return ""

    @property
    def kind(self) -> str:
        return (self.chain or {}).get("template", {}).get("kind") or self.template.kind

    @property
    def subject_label(self) -> str:
        if self.subject_type_id is None:
            return ""
        return f"{self.subject_type.app_label}.{self.subject_type.model}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


def attachment_path(instance: ApprovalAttachment, filename: str) -> str:
    now = timezone.now()
    return f"approvals/{now:%Y/%m}/{instance.request_id}/{filename}"


class ApprovalAttachment(models.Model):
    """A file on a request: an expense receipt (with the line it belongs to) or any attachment."""

    request = models.ForeignKey(
        ApprovalRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    line = models.PositiveSmallIntegerField(
        _("line"), null=True, blank=True, help_text=_("The expense line this receipt belongs to.")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("approvals:attachment", args=[self.pk])


class ApprovalAction(models.Model):
    """One line of a request's timeline: who did what, when, with which comment."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        RESUBMIT = "resubmit", _("Resubmitted")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        RETURN = "return", _("Returned to the initiator")
        TRANSFER = "transfer", _("Transferred")
        COMMENT = "comment", _("Commented")
        WITHDRAW = "withdraw", _("Withdrawn")
        FALLBACK = "fallback", _("Sent to the fallback approver")
        CC = "cc", _("Copied")
        COMPLETE = "complete", _("Approved (all steps)")
        REMIND = "remind", _("Reminded (overdue)")

    request = models.ForeignKey(
        ApprovalRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="actions",
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    step_index = models.SmallIntegerField(_("step"), null=True, blank=True)
    step_name = models.CharField(_("step name"), max_length=100, blank=True)
    kind = models.CharField(_("action"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    task_id = models.BigIntegerField(_("task"), null=True, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("approval action")
        verbose_name_plural = _("approval actions")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"], name="approvals_action_req")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.actor or '-'}"


class ApprovalParticipant(models.Model):
    """Someone who was asked to approve, or copied, on a request: they may see it."""

    class Kind(models.TextChoices):
        APPROVER = "approver", _("Approver")
        CC = "cc", _("CC")

    request = models.ForeignKey(
        ApprovalRequest, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "user", "kind"], name="approvals_participant_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "kind", "request"], name="approvals_participant_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.request_id} ({self.kind})"


class ApprovalProcess(Process):
    """viewflow's process row for one round of one request (state of the walk, not business data).

    `artifact` points at the `ApprovalRequest`; the request's `process` is its current round.
    """

    round = jsonstore.IntegerField(_("round"), default=1)
    step_index = jsonstore.IntegerField(_("step index"), null=True, blank=True)
    outcome = jsonstore.CharField(_("outcome of the last step"), max_length=20, blank=True)

    class Meta:
        proxy = True
        ordering = ["-created"]
        verbose_name = _("approval process")
        verbose_name_plural = _("approval processes")
