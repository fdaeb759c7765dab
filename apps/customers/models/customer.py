"""Customer (the hub of the CRM graph), its tags and its history rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.org.models import Department
from apps.studio.models import CustomFieldsModel

from ..normalize import digits, normalize_name, pinyin_keys
from ..querysets import CustomerQuerySet


class Level(models.TextChoices):
    A = "A", _("A · key account")
    B = "B", _("B · important")
    C = "C", _("C · normal")
    D = "D", _("D · low priority")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    IT = "it", _("IT and software")
    FINANCE = "finance", _("Finance")
    RETAIL = "retail", _("Retail and e-commerce")
    EDUCATION = "education", _("Education")
    HEALTHCARE = "healthcare", _("Healthcare")
    REAL_ESTATE = "real_estate", _("Real estate and construction")
    LOGISTICS = "logistics", _("Logistics")
    ENERGY = "energy", _("Energy")
    GOVERNMENT = "government", _("Government and public sector")
    SERVICES = "services", _("Professional services")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Exhibition")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner")
    LEAD = "lead", _("Converted lead")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=20, blank=True, default="secondary")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def customer_grant_ids(user, action: str = "view") -> list[int]:
    """Ids of the customers shared with `user` (or their roles) through guardian.

    The foundation reads all of a user's grants in one query per request
    (`apps.org.scopes.grant_ids`); contacts, follow-ups and tickets reuse it.
    """
    from apps.org.scopes import grant_ids

    return grant_ids(user, Customer, action)


def _customer_grants_q(user, action: str) -> Q:
    """Rows of a child model (contact, follow-up, ticket) whose customer is shared with `user`."""
    ids = customer_grant_ids(user, action)
    return Q(customer_id__in=ids) if ids else Q(pk__in=[])


def _customer_scope_q(user, prefix: str = "customer__") -> Q:
    """Rows of a child model whose customer lies in the user's role scope on customers
    (owner / department / tree / all; the pool and shares are not included)."""
    from apps.org.models import Scope
    from apps.org.scopes import role_scope, user_department_ids

    scope = role_scope(user, Customer)
    if scope is None:
        return Q(pk__in=[])
    if scope == Scope.ALL:
        return Q(pk__isnull=False)
    q = Q(**{f"{prefix}owner_id": user.pk})
    if scope in (Scope.DEPARTMENT, Scope.TREE):
        ids = user_department_ids(user, scope)
        if ids:
            q |= Q(**{f"{prefix}department_id__in": sorted(ids)})
    return q


def _customer_in_scope(user, customer) -> bool:
    from apps.org.models import Scope
    from apps.org.scopes import role_scope, user_department_ids

    scope = role_scope(user, Customer)
    if scope is None:
        return False
    if scope == Scope.ALL or customer.owner_id == user.pk:
        return True
    if scope in (Scope.DEPARTMENT, Scope.TREE):
        return customer.department_id in user_department_ids(user, scope)
    return False


def customer_shared_with(user, customer_id: int, action: str = "view") -> bool:
    from apps.org.scopes import has_grant

    codes = ["view_customer", "change_customer"] if action == "view" else ["change_customer"]
    proxy = Customer(pk=customer_id)
    return any(has_grant(user, proxy, code) for code in codes)


class Customer(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("name", "name_normalized", "name_pinyin", "name_initials")

    class Status(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        FOLLOWING = "following", _("Following up")
        SIGNED = "signed", _("Signed")
        LOST = "lost", _("Lost")

    Level = Level
    Industry = Industry
    Source = Source

    name = models.CharField(_("name"), max_length=200)
    name_normalized = models.CharField(
        _("normalised name"),
        max_length=200,
        editable=False,
        help_text=_("The name without case, spaces, punctuation and company suffixes."),
    )
    name_pinyin = models.CharField(_("pinyin"), max_length=300, blank=True, editable=False)
    name_initials = models.CharField(
        _("pinyin initials"), max_length=100, blank=True, editable=False
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    source = models.CharField(_("source"), max_length=30, choices=Source.choices, blank=True)
    level = models.CharField(_("level"), max_length=1, choices=Level.choices, default=Level.C)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.POTENTIAL
    )
    province = models.CharField(_("province"), max_length=30, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    phone_digits = models.CharField(_("phone digits"), max_length=30, blank=True, editable=False)
    email = models.EmailField(_("email"), max_length=200, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    description = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
        help_text=_("Empty: the customer is in the public pool."),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    territory = models.ForeignKey(
        "customers.Territory",
        verbose_name=_("territory"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
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
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    pool_entered_at = models.DateTimeField(_("in the pool since"), null=True, blank=True)
    pool_reason = models.CharField(_("reason for the pool"), max_length=300, blank=True)
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("previous owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recycle_warned_at = models.DateTimeField(
        _("recycling warning sent"), null=True, blank=True, editable=False
    )
    satisfaction_avg = models.DecimalField(
        _("average satisfaction"), max_digits=3, decimal_places=2, null=True, blank=True
    )
    satisfaction_count = models.PositiveIntegerField(_("ratings"), default=0)
    last_satisfaction = models.PositiveSmallIntegerField(
        _("last satisfaction"), null=True, blank=True
    )
    last_satisfaction_comment = models.CharField(
        _("last satisfaction comment"), max_length=500, blank=True
    )

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = CustomerQuerySet.as_manager()

    # Field-level change history (who, when, old → new): docs/history-audit.md.
    history = HistoricalRecords(
        excluded_fields=[
            "name_normalized",
            "name_pinyin",
            "name_initials",
            "phone_digits",
            "updated_at",
            "recycle_warned_at",
        ]
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("claim_customer", _("Can claim customers from the pool")),
            ("assign_customer", _("Can assign customers to other people")),
            ("merge_customer", _("Can merge duplicate customers")),
            ("export_customer", _("Can export customers")),
        ]
        constraints = [
            # Anti-collision (撞单): one customer per normalised name, kept by the database so
            # two simultaneous creates cannot both commit.
            models.UniqueConstraint(
                fields=["name_normalized"], name="customers_customer_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(satisfaction_avg__isnull=True)
                | Q(satisfaction_avg__gte=1, satisfaction_avg__lte=5),
                name="customers_customer_satisfaction_range",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="customers_cust_owner_upd"),
            models.Index(fields=["department", "-updated_at"], name="customers_cust_dept_upd"),
            models.Index(fields=["-updated_at", "-id"], name="customers_cust_updated"),
            models.Index(fields=["-created_at"], name="customers_cust_created"),
            models.Index(fields=["last_contacted_at"], name="customers_cust_contacted"),
            models.Index(fields=["next_follow_up_at"], name="customers_cust_next_fu"),
            models.Index(
                fields=["pool_entered_at"],
                name="customers_cust_pool",
                condition=Q(owner__isnull=True),
            ),
            models.Index(fields=["level", "status"], name="customers_cust_level_status"),
            models.Index(fields=["province", "city"], name="customers_cust_province"),
            models.Index(fields=["industry"], name="customers_cust_industry"),
            models.Index(fields=["source"], name="customers_cust_source"),
            # Prefix search (LIKE 'x%'): pattern operator classes on PostgreSQL, plain
            # b-trees elsewhere (SQLite ignores opclasses).
            models.Index(
                fields=["name_initials"],
                name="customers_cust_initials",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["name_pinyin"],
                name="customers_cust_pinyin",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["phone_digits"],
                name="customers_cust_phone",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["email"], name="customers_cust_email", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        try:
            return reverse("customers:detail", args=[self.pk])
        except NoReverseMatch:  # the pages are not wired (API-only deployments, early tests)
            return ""

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    def refresh_keys(self) -> None:
        """Recompute the derived columns (normalised name, pinyin, phone digits)."""
        self.name = (self.name or "").strip()
        self.name_normalized = normalize_name(self.name)[:200]
        self.name_pinyin, self.name_initials = pinyin_keys(self.name_normalized)
        self.phone_digits = digits(self.phone)
        self.email = (self.email or "").strip().lower()

    def save(self, *args, **kwargs):
        # The keys are part of the row, like an index: whoever saves (service, admin, import)
        # stores them consistently. Business rules live in the services.
        self.refresh_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            fields = set(update_fields)
            if "name" in fields:
                fields |= {"name_normalized", "name_pinyin", "name_initials"}
            if "phone" in fields:
                fields.add("phone_digits")
            kwargs["update_fields"] = list(fields)
        super().save(*args, **kwargs)

    # The public pool is visible to everyone who may view customers (DESIGN §2 公海).
    @classmethod
    def scope_extra_q(cls, user, action):
        if action == "view" and user.has_perm("customers.view_customer"):
            return Q(owner__isnull=True)
        return None

    @classmethod
    def scope_extra_allows(cls, user, obj, action) -> bool:
        return (
            action == "view" and obj.owner_id is None and user.has_perm("customers.view_customer")
        )


class CustomerEvent(models.Model):
    """One line of a customer's history; the 360° timeline reads these rows."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        CLAIMED = "claimed", _("Claimed from the pool")
        RELEASED = "released", _("Released to the pool")
        RECYCLED = "recycled", _("Returned to the pool automatically")
        RECYCLE_WARNED = "recycle_warned", _("Owner warned of recycling")
        ASSIGNED = "assigned", _("Assigned")
        TAGGED = "tagged", _("Tags changed")
        MERGED = "merged", _("Merged")
        CONTACT_ADDED = "contact_added", _("Contact added")
        CONTACT_UPDATED = "contact_updated", _("Contact updated")
        CONTACT_REMOVED = "contact_removed", _("Contact removed")
        FOLLOWED_UP = "followed_up", _("Follow-up logged")
        TICKET_OPENED = "ticket_opened", _("Ticket opened")
        TICKET_RATED = "ticket_rated", _("Ticket rated")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
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
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="customers_event_cust_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id}"
