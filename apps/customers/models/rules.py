"""Settings an admin edits: territories, pool recycling rules, claim limits, ticket SLAs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .customer import Level

# Mainland provinces, municipalities and autonomous regions, plus Hong Kong, Macau, Taiwan.
PROVINCES = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "台湾",
]
PROVINCE_CHOICES = [(p, p) for p in PROVINCES]


class Territory(models.Model):
    """A sales territory: provinces → region label → owner (DESIGN §2). A province belongs to
    at most one territory."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    region = models.CharField(
        _("region"),
        max_length=50,
        blank=True,
        help_text=_("Label written on customers, e.g. 华东."),
    )
    provinces = models.JSONField(
        _("provinces"), default=list, blank=True, help_text=_("Province names, e.g. 上海, 江苏.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="territories",
        help_text=_("Suggested owner of new customers and leads from these provinces."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        provinces = self.provinces
        if isinstance(provinces, str):
            provinces = [p for p in provinces.replace("，", ",").replace("、", ",").split(",")]
        if not isinstance(provinces, list) or not all(isinstance(p, str) for p in provinces):
            raise ValidationError({"provinces": _("Give a list of province names.")})
        cleaned = []
        for p in provinces:
            p = p.strip()
            if p and p not in cleaned:
                cleaned.append(p)
        self.provinces = cleaned
        if not self.region:
            self.region = self.name
        taken: dict[str, str] = {}
        others = Territory.objects.filter(active=True).exclude(pk=self.pk)
        for name, provs in others.values_list("name", "provinces"):
            for p in provs or []:
                taken[p] = name
        clashes = [f"{p} ({taken[p]})" for p in cleaned if p in taken]
        if clashes and self.active:
            raise ValidationError(
                {
                    "provinces": _("Already in another territory: %(list)s")
                    % {"list": ", ".join(clashes)}
                }
            )


class PoolRule(models.Model):
    """Customers of `level` without a follow-up for `days` days go back to the pool; their
    owner is warned `warn_days` days before."""

    level = models.CharField(_("customer level"), max_length=1, choices=Level.choices, unique=True)
    days = models.PositiveIntegerField(
        _("days without follow-up"), validators=[MinValueValidator(1)]
    )
    warn_days = models.PositiveIntegerField(
        _("warn the owner days before"), default=3, validators=[MinValueValidator(0)]
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pool recycling rule")
        verbose_name_plural = _("pool recycling rules")
        ordering = ["level"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warn_days__lt=models.F("days")),
                name="customers_poolrule_warn_before",
                violation_error_message=_("Warn fewer days before than the rule's days."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.days}"


class ClaimLimit(models.Model):
    """How many customers a member of `role` may own at most (claims beyond it are refused).

    With several roles the highest limit counts; without any limit row a user is not limited.
    """

    role = models.OneToOneField(
        Group, verbose_name=_("role"), on_delete=models.CASCADE, related_name="customer_limit"
    )
    max_customers = models.PositiveIntegerField(_("most customers owned"))

    class Meta:
        verbose_name = _("claim limit")
        verbose_name_plural = _("claim limits")
        ordering = ["role__name"]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_customers}"


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Used when an admin deleted the rule of a priority: (response hours, resolve hours).
DEFAULT_SLA_HOURS = {
    Priority.URGENT: (1, 8),
    Priority.HIGH: (4, 24),
    Priority.NORMAL: (8, 72),
    Priority.LOW: (24, 168),
}


class SLARule(models.Model):
    """Service level per ticket priority: hours to first response and to resolution."""

    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, unique=True)
    response_hours = models.PositiveIntegerField(
        _("respond within (hours)"), validators=[MinValueValidator(1)]
    )
    resolve_hours = models.PositiveIntegerField(
        _("resolve within (hours)"), validators=[MinValueValidator(1), MaxValueValidator(24 * 365)]
    )

    class Meta:
        verbose_name = _("ticket SLA rule")
        verbose_name_plural = _("ticket SLA rules")
        ordering = ["resolve_hours"]

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: {self.resolve_hours}h"

    def clean(self) -> None:
        if self.response_hours and self.resolve_hours and self.response_hours > self.resolve_hours:
            raise ValidationError(
                {"response_hours": _("The response time cannot exceed the resolution time.")}
            )
