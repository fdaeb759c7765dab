"""Helpers shared by the built-in reports."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from ..params import ReportParams

ZERO = Decimal("0.00")


def scoped(
    model,
    user,
    p: ReportParams,
    *,
    date: str | None = None,
    is_datetime: bool = True,
    owner: str | None = "owner",
    dept: str | None = "department",
) -> QuerySet:
    """The rows of `model` the user may see, narrowed to the report's period, person and
    department. Every built-in query starts here (DESIGN §4.1: scope first)."""
    qs = model.objects.visible_to(user)
    if date:
        qs = qs.filter(p.date_q(date, is_datetime=is_datetime))
    if p.owner is not None and owner:
        qs = qs.filter(**{owner: p.owner})
    if p.department is not None and dept:
        qs = qs.filter(**{f"{dept}__in": p.department_ids})
    return qs.order_by()


def user_names(ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    users = (
        get_user_model()
        .objects.filter(pk__in=ids)
        .only("pk", "username", "display_name", "first_name", "last_name")
    )
    return {u.pk: str(u) for u in users}


def ratio(part, whole) -> Decimal | None:
    """part / whole as a percentage with two places; None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def hours(delta) -> Decimal | None:
    if delta is None:
        return None
    return (Decimal(delta.total_seconds()) / 3600).quantize(Decimal("0.01"))


def choice_label(choices, value) -> str:
    from django.utils.translation import gettext as _

    if value in (None, ""):
        return _("(empty)")
    return str(dict(choices).get(value, value))
