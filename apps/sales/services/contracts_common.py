"""Helpers the contract, payment and invoice services share (money area)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.org.errors import ServiceError
from apps.org.fields import field_access

from ..models import Contract, ContractEvent

User = get_user_model()
CENT = decimal.Decimal("0.01")
MAX_MONEY = decimal.Decimal("999999999999.99")

# Statuses in which money moves: an approved contract may be paid and invoiced before the
# paper is signed (deposits); drafts, pending, rejected and terminated contracts may not.
MONEY_STATUSES = (
    Contract.Status.APPROVED,
    Contract.Status.SIGNED,
    Contract.Status.EXECUTING,
    Contract.Status.COMPLETED,
)


def require(by, perm: str, obj: models.Model | None = None) -> None:
    """PermissionDenied unless `by` holds `perm` (on `obj`); `by=None` is the system."""
    if by is None:
        return
    allowed = by.has_perm(perm, obj) if obj is not None else by.has_perm(perm)
    if not allowed:
        raise PermissionDenied


def refuse_restricted(by, model, names: Iterable[str], obj=None) -> None:
    """Field security on every write path: naming a field the user may not change is an error."""
    if by is None:
        return
    refused = field_access(by, model, obj).refused_writes(names)
    if refused:
        raise ValidationError(
            {name: [_("You are not allowed to change this field.")] for name in refused}
        )


def money(value, *, field: str = "amount", positive: bool = True) -> decimal.Decimal:
    """A CNY amount as a Decimal with two places, or a ServiceError naming `field`.

    Never a float: "0.1" + "0.2" must be exactly "0.30".
    """
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError, TypeError):
        raise ServiceError(_("Enter an amount such as 1234.56."), field=field) from None
    if not amount.is_finite():
        raise ServiceError(_("Enter an amount such as 1234.56."), field=field)
    if amount != amount.quantize(CENT):
        raise ServiceError(_("Amounts have at most two decimal places."), field=field)
    amount = amount.quantize(CENT)
    if positive and amount <= 0:
        raise ServiceError(_("The amount must be greater than zero."), field=field)
    if amount < 0:
        raise ServiceError(_("The amount cannot be negative."), field=field)
    if amount > MAX_MONEY:
        raise ServiceError(_("The amount is too large."), field=field)
    return amount


def plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def record(contract: Contract, kind: str, by, /, **payload) -> ContractEvent:
    return ContractEvent.objects.create(
        contract=contract,
        kind=kind,
        actor=by if by is not None else None,
        payload={k: plain(v) for k, v in payload.items()},
    )


def lock_contract(contract: Contract | int) -> Contract:
    """The contract row, locked until the transaction ends (payments and invoices queue here)."""
    pk = contract.pk if isinstance(contract, Contract) else int(contract)
    try:
        return Contract.objects.select_for_update().get(pk=pk)
    except Contract.DoesNotExist:
        raise ServiceError(_("No such contract.")) from None


def finance_users() -> list:
    """The people who record payments (hold `sales.add_payment` through a role or directly)."""
    perm = Permission.objects.filter(content_type__app_label="sales", codename="add_payment")
    return list(
        User.objects.filter(is_active=True, is_superuser=False)
        .filter(Q(groups__permissions__in=perm) | Q(user_permissions__in=perm))
        .distinct()
        .order_by("pk")
    )
