"""Leads (线索), campaigns, public web forms and lead assignment rules."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.customers.models import Industry, Territory
from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet
from apps.studio.models import CustomFieldsModel

from ._common import EventBase, money_field, user_fk


class Channel(models.TextChoices):
    ONLINE_ADS = "online_ads", _("Online advertising")
    SEARCH = "search", _("Search engine")
    SOCIAL = "social", _("Social media / WeChat")
    EXHIBITION = "exhibition", _("Exhibition")
    SEMINAR = "seminar", _("Seminar / webinar")
    EMAIL = "email", _("Email marketing")
    TELEMARKETING = "telemarketing", _("Telemarketing")
    REFERRAL = "referral", _("Referral")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    MANUAL = "manual", _("Entered by hand")
    IMPORT = "import", _("Excel import")
    API = "api", _("API")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Exhibition")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class Campaign(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACTIVE = "active", _("Active")
        FINISHED = "finished", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=30, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    budget = money_field(_("budget"))
    cost = money_field(_("actual cost"))
    description = models.TextField(_("description"), blank=True)
    owner = user_fk(_("owner"), related_name="owned_campaigns", on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="sales_campaign_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return _url("sales:campaign-detail", self.pk)


def new_form_key() -> str:
    return secrets.token_urlsafe(18)


class LeadForm(models.Model):
    """A public web form (`public/leads/`): its key attributes leads to a campaign and channel."""

    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(_("form key"), max_length=64, unique=True, default=new_form_key)
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forms",
    )
    source = models.CharField(
        _("source"), max_length=30, choices=LeadSource.choices, default=LeadSource.WEB_FORM
    )
    channel = models.CharField(_("channel"), max_length=30, choices=Channel.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    success_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    rate_limit_per_hour = models.PositiveIntegerField(
        _("submissions per hour and address"), default=20
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("lead web form")
        verbose_name_plural = _("lead web forms")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadQuerySet(ScopedQuerySet):
    def open(self):
        return self.exclude(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED])

    def not_contacted(self):
        return self.filter(status__in=[Lead.Status.NEW, Lead.Status.ASSIGNED])


class Lead(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = (
        "company",
        "company_normalized",
        "company_pinyin",
        "company_initials",
        "contact_name",
    )

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        CONVERTED = "converted", _("Converted")
        DISQUALIFIED = "disqualified", _("Disqualified")

    Source = LeadSource
    Channel = Channel
    Industry = Industry

    company = models.CharField(_("company"), max_length=200, blank=True)
    company_normalized = models.CharField(
        _("normalised company"), max_length=200, blank=True, editable=False
    )
    company_pinyin = models.CharField(_("pinyin"), max_length=300, blank=True, editable=False)
    company_initials = models.CharField(
        _("pinyin initials"), max_length=100, blank=True, editable=False
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=50, blank=True)
    mobile_digits = models.CharField(_("mobile digits"), max_length=30, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("email"), max_length=200, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    source = models.CharField(
        _("source"), max_length=30, choices=LeadSource.choices, default=LeadSource.MANUAL
    )
    channel = models.CharField(_("channel"), max_length=30, choices=Channel.choices, blank=True)
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    form = models.ForeignKey(
        LeadForm,
        verbose_name=_("web form"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    province = models.CharField(_("province"), max_length=30, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    territory = models.ForeignKey(
        Territory,
        verbose_name=_("territory"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    description = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    disqualified_reason = models.CharField(_("reason disqualified"), max_length=300, blank=True)
    owner = user_fk(_("owner"), related_name="owned_leads", on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Cleaning: the key a duplicate is recognised by (normalised company, else mobile, else
    # email). Among leads that are not themselves duplicates it is unique, so the same form
    # posted twice at once cannot create two originals: the loser is saved as a duplicate.
    dedupe_key = models.CharField(_("duplicate key"), max_length=200, blank=True, editable=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    duplicate_customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("matches customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("converted to customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="converted_leads",
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("converted to contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("converted to opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assignment_rule = models.ForeignKey(
        "sales.AssignmentRule",
        verbose_name=_("assigned by rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = user_fk(_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("first contacted at"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    qualified_at = models.DateTimeField(_("qualified at"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True, editable=False)

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = LeadQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(
        excluded_fields=[
            "company_normalized",
            "company_pinyin",
            "company_initials",
            "mobile_digits",
            "dedupe_key",
            "updated_at",
        ]
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("assign_lead", _("Can assign leads to other people")),
            ("convert_lead", _("Can convert leads")),
            ("import_lead", _("Can import leads")),
            ("export_lead", _("Can export leads")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(duplicate_of__isnull=True) & ~Q(dedupe_key=""),
                name="sales_lead_unique_original",
            ),
            models.CheckConstraint(
                condition=~Q(status="disqualified") | ~Q(disqualified_reason=""),
                name="sales_lead_disqualified_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="sales_lead_owner_created"),
            models.Index(fields=["department", "-created_at"], name="sales_lead_dept_created"),
            models.Index(fields=["status", "-created_at"], name="sales_lead_status_created"),
            models.Index(fields=["-created_at", "-id"], name="sales_lead_created"),
            models.Index(fields=["campaign"], name="sales_lead_campaign"),
            models.Index(fields=["dedupe_key"], name="sales_lead_dedupe"),
            models.Index(
                fields=["company_initials"],
                name="sales_lead_initials",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["company_pinyin"],
                name="sales_lead_pinyin",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["mobile_digits"],
                name="sales_lead_mobile",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["email"], name="sales_lead_email", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.company or self.contact_name or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return _url("sales:lead-detail", self.pk)

    def refresh_keys(self) -> None:
        """Derived columns (normalised company, pinyin, digits, duplicate key), like an index."""
        from apps.customers.normalize import digits, normalize_name, pinyin_keys

        self.company = (self.company or "").strip()
        self.company_normalized = normalize_name(self.company)[:200] if self.company else ""
        if self.company_normalized:
            self.company_pinyin, self.company_initials = pinyin_keys(self.company_normalized)
        else:
            self.company_pinyin = self.company_initials = ""
        self.mobile_digits = digits(self.mobile)
        self.email = (self.email or "").strip().lower()
        if self.company_normalized:
            self.dedupe_key = f"c:{self.company_normalized}"[:200]
        elif self.mobile_digits:
            self.dedupe_key = f"m:{self.mobile_digits}"
        elif self.email:
            self.dedupe_key = f"e:{self.email}"[:200]
        else:
            self.dedupe_key = ""

    def save(self, *args, **kwargs):
        self.refresh_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            fields = set(update_fields)
            if fields & {"company", "mobile", "email"}:
                fields |= {
                    "company_normalized",
                    "company_pinyin",
                    "company_initials",
                    "mobile_digits",
                    "dedupe_key",
                }
            kwargs["update_fields"] = list(fields)
        super().save(*args, **kwargs)


class LeadEvent(EventBase):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DUPLICATE = "duplicate", _("Flagged as duplicate")
        ASSIGNED = "assigned", _("Assigned")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")
        ESCALATED = "escalated", _("Escalated to the manager")

    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), on_delete=models.CASCADE, related_name="events"
    )

    class Meta(EventBase.Meta):
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [models.Index(fields=["lead", "-at"], name="sales_leadevent_lead_at")]


class AssignmentRule(models.Model):
    """Admin-defined lead routing, evaluated in `order`: the first rule whose conditions all
    match (an empty condition matches anything) gives the owner."""

    class Strategy(models.TextChoices):
        SINGLE = "single", _("One user")
        ROUND_ROBIN = "round_robin", _("Round-robin over the users")
        LEAST_LOADED = "least_loaded", _("User with the fewest open leads")
        TERRITORY_OWNER = "territory_owner", _("Owner of the lead's territory")

    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    provinces = models.JSONField(
        _("provinces"), default=list, blank=True, help_text=_("Empty: any province.")
    )
    territory = models.ForeignKey(
        Territory,
        verbose_name=_("territory"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: any territory."),
    )
    industries = models.JSONField(
        _("industries"), default=list, blank=True, help_text=_("Empty: any industry.")
    )
    sources = models.JSONField(
        _("sources"), default=list, blank=True, help_text=_("Empty: any source.")
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: any campaign."),
    )
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.SINGLE
    )
    users = models.ManyToManyField(
        "org.User", verbose_name=_("users"), blank=True, related_name="+"
    )
    # Round-robin pointer: the user who got the previous lead through this rule (read and
    # moved under a row lock, so concurrent assignments stay fair).
    last_user = user_fk(_("last assigned"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class SalesSettings(models.Model):
    """Company-wide sales settings: one row (`SalesSettings.load()`)."""

    fallback_owner = user_fk(
        _("fallback lead owner"),
        help_text=_("Gets the leads no assignment rule matches."),
    )
    lead_contact_hours = models.PositiveIntegerField(
        _("hours to contact a new lead"),
        default=24,
        help_text=_("Leads unassigned or not contacted after this many hours are escalated."),
    )
    discount_approval_threshold = models.DecimalField(
        _("discount needing approval (%)"),
        max_digits=5,
        decimal_places=2,
        default=15,
        help_text=_("A quote whose largest discount exceeds this starts the discount approval."),
    )
    stalled_days_default = models.PositiveIntegerField(
        _("days without activity before a deal is stalled"), default=14
    )
    payment_reminder_days = models.PositiveIntegerField(
        _("days before a due instalment to remind"), default=3
    )
    public_form_rate_limit = models.PositiveIntegerField(
        _("web-form submissions per hour and address"), default=20
    )

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return str(_("Sales settings"))

    @classmethod
    def load(cls) -> SalesSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


def _url(name: str, pk) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # pages not wired yet (API-only use, early tests)
        return ""
