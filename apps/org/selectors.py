"""Reads for people and structure."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Q, QuerySet

from .models import Department, User


def user_directory(*, user: User, filters: Mapping[str, str] | None = None) -> QuerySet[User]:
    """Active colleagues, as everyone in the company may see them (names, departments, titles)."""
    filters = filters or {}
    qs = (
        User.objects.filter(is_active=True)
        .select_related("department", "manager")
        .order_by("department__order", "department__name", "username")
    )
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(title__icontains=q)
            | Q(mobile__icontains=q)
            | Q(email__icontains=q)
        )
    dept = filters.get("department")
    if dept and str(dept).isdigit():
        qs = qs.filter(department_id=int(dept))
    return qs


def department_tree() -> list[tuple[Department, int]]:
    """Departments in tree order with their depth, from one query."""
    departments = list(Department.objects.select_related("head").order_by("order", "name"))
    by_parent: dict[int | None, list[Department]] = {}
    for d in departments:
        by_parent.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []

    def walk(parent_id, depth):
        for d in by_parent.get(parent_id, []):
            out.append((d, depth))
            walk(d.pk, depth + 1)

    walk(None, 0)
    return out


def manager_chain(user: User, levels: int = 10) -> list[User]:
    """The user's manager, their manager, … up to `levels` (stops at a loop)."""
    chain, seen, node = [], {user.pk}, user
    while len(chain) < levels and node.manager_id and node.manager_id not in seen:
        node = User.objects.select_related("manager").get(pk=node.manager_id)
        chain.append(node)
        seen.add(node.pk)
    return chain
