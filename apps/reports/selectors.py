"""Reads of the reports app, for one user."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.org.scopes import department_tree_ids

from .models import Dashboard, SalesTarget, SavedReport


def _shared_q(user) -> Q:
    return Q(owner=user) | Q(shared_users=user) | Q(shared_roles__in=user.groups.all())


def saved_reports_for(user) -> QuerySet[SavedReport]:
    """Reports the user owns or that were shared with them or one of their roles."""
    if not user.is_authenticated:
        return SavedReport.objects.none()
    qs = SavedReport.objects.all()
    if not user.is_superuser:
        ids = SavedReport.objects.filter(_shared_q(user)).values("pk")
        qs = qs.filter(pk__in=ids)
    return qs.select_related("owner").order_by("name", "id")


def dashboards_for(user) -> QuerySet[Dashboard]:
    """Dashboards the user may open: their own and those shared with them or their roles
    (other people's home dashboards stay private, even to superusers)."""
    if not user.is_authenticated:
        return Dashboard.objects.none()
    ids = Dashboard.objects.filter(_shared_q(user)).values("pk")
    return (
        Dashboard.objects.filter(pk__in=ids)
        .exclude(Q(is_home=True) & ~Q(owner=user))
        .select_related("owner")
        .order_by("-is_home", "name", "id")
    )


def home_dashboard(user) -> Dashboard | None:
    return Dashboard.objects.filter(owner=user, is_home=True).first()


def can_edit(user, obj) -> bool:
    """Saved reports and dashboards are changed by their owner (or a superuser)."""
    return user.is_authenticated and (user.is_superuser or obj.owner_id == user.pk)


def managed_department_ids(user) -> frozenset[int] | None:
    """Departments whose targets `user` may set: None = all (admin permission)."""
    if user.is_superuser or user.has_perm("reports.change_salestarget"):
        return None
    if not user.has_perm("reports.manage_salestarget") or not user.department_id:
        return frozenset()
    return department_tree_ids(user.department_id)


def targets_for(user) -> QuerySet[SalesTarget]:
    qs = SalesTarget.objects.select_related("user", "department", "updated_by")
    ids = managed_department_ids(user)
    if ids is None:
        return qs
    return qs.filter(Q(department_id__in=ids) | Q(user__department_id__in=ids) | Q(user=user))
