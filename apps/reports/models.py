"""Reports: sales targets, saved report definitions (the builder), dashboards, history rows.

Nothing in here holds business data of other apps: every number a report shows is computed
from the domain tables at request time (DESIGN §2 "all real-time from the database").
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.org.models import Department


class SalesTarget(models.Model):
    """A monthly target (contract amount signed, CNY) for one person or one department."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_targets",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_targets",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(
        _("target amount"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-month", "department_id", "user_id"]
        permissions = [("manage_salestarget", _("Can set sales targets of their department"))]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(department__isnull=True))
                | (Q(user__isnull=True) & Q(department__isnull=False)),
                name="reports_target_user_xor_department",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="reports_target_first_of_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="reports_target_amount"),
            models.UniqueConstraint(
                fields=["user", "month"],
                condition=Q(user__isnull=False),
                name="reports_target_unique_user_month",
            ),
            models.UniqueConstraint(
                fields=["department", "month"],
                condition=Q(department__isnull=False),
                name="reports_target_unique_dept_month",
            ),
        ]
        indexes = [models.Index(fields=["month"], name="reports_target_month")]

    def __str__(self) -> str:
        who = self.user or self.department
        return f"{who} · {self.month:%Y-%m} · {self.amount}"


class SavedReport(models.Model):
    """A report-builder definition (see `apps.reports.builder`), saved and optionally shared."""

    class Chart(models.TextChoices):
        BAR = "bar", _("Bar")
        STACKED_BAR = "stacked_bar", _("Stacked bar")
        LINE = "line", _("Line")
        PIE = "pie", _("Pie")
        FUNNEL = "funnel", _("Funnel")
        TABLE = "table", _("Table")
        NUMBER = "number", _("Number card")

    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    source = models.CharField(_("data"), max_length=40)
    definition = models.JSONField(_("definition"), default=dict)
    chart = models.CharField(_("chart"), max_length=20, choices=Chart.choices, default=Chart.BAR)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_reports",
    )
    shared_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("shared with people"), blank=True, related_name="+"
    )
    shared_roles = models.ManyToManyField(
        Group, verbose_name=_("shared with roles"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("saved report")
        verbose_name_plural = _("saved reports")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="reports_saved_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reports:saved-detail", args=[self.pk])


class Dashboard(models.Model):
    """A grid of report widgets. A user's home dashboard has `owner` and `is_home`; shared
    dashboards (built by managers) are shared with roles or people."""

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="dashboards",
    )
    is_home = models.BooleanField(_("my home dashboard"), default=False)
    shared_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("shared with people"), blank=True, related_name="+"
    )
    shared_roles = models.ManyToManyField(
        Group, verbose_name=_("shared with roles"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        ordering = ["name", "id"]
        permissions = [("share_dashboard", _("Can build shared dashboards"))]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_home=True), name="reports_one_home_dashboard"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reports:dashboard", args=[self.pk])


class DashboardItem(models.Model):
    """One widget: a built-in report section or a saved report, at a place in the grid."""

    class Width(models.IntegerChoices):
        THIRD = 4, _("One third")
        HALF = 6, _("Half")
        TWO_THIRDS = 8, _("Two thirds")
        FULL = 12, _("Full width")

    dashboard = models.ForeignKey(
        Dashboard, verbose_name=_("dashboard"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    width = models.PositiveSmallIntegerField(_("width"), choices=Width.choices, default=Width.HALF)
    builtin = models.CharField(_("built-in report"), max_length=40, blank=True)
    saved_report = models.ForeignKey(
        SavedReport,
        verbose_name=_("saved report"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("dashboard widget")
        verbose_name_plural = _("dashboard widgets")
        ordering = ["dashboard", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(builtin="") & Q(saved_report__isnull=False))
                | (~Q(builtin="") & Q(saved_report__isnull=True)),
                name="reports_item_builtin_xor_saved",
            ),
            models.CheckConstraint(condition=Q(width__in=[4, 6, 8, 12]), name="reports_item_width"),
        ]

    def __str__(self) -> str:
        return self.title or self.builtin or str(self.saved_report_id)


class ReportEvent(models.Model):
    """History of saved reports, dashboards and targets: who changed what (STYLE: rows)."""

    class Kind(models.TextChoices):
        REPORT_SAVED = "report_saved", _("Report saved")
        REPORT_SHARED = "report_shared", _("Report shared")
        REPORT_DELETED = "report_deleted", _("Report deleted")
        DASHBOARD_CHANGED = "dashboard_changed", _("Dashboard changed")
        DASHBOARD_DELETED = "dashboard_deleted", _("Dashboard deleted")
        TARGET_SET = "target_set", _("Target set")
        TARGET_DELETED = "target_deleted", _("Target deleted")
        EXPORTED = "exported", _("Exported")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    report = models.ForeignKey(
        SavedReport,
        verbose_name=_("report"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    dashboard = models.ForeignKey(
        Dashboard,
        verbose_name=_("dashboard"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("report event")
        verbose_name_plural = _("report events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at"], name="reports_event_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"
