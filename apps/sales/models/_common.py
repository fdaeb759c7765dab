"""Pieces shared by the sales models: money fields, the history-row base."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    """CNY amounts: Decimal with two places, never a float (DESIGN §2)."""
    kwargs.setdefault("max_digits", 14)
    kwargs.setdefault("decimal_places", 2)
    kwargs.setdefault("default", ZERO)
    kwargs.setdefault("validators", [MinValueValidator(ZERO)])
    return models.DecimalField(verbose_name, **kwargs)


def user_fk(verbose_name, *, related_name="+", null=True, on_delete=models.SET_NULL, **kw):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=null,
        blank=null,
        on_delete=on_delete,
        related_name=related_name,
        **kw,
    )


class EventBase(models.Model):
    """One line of a record's history: what happened, who did it, details (STYLE: history is rows).

    Subclasses add the FK to their record and a `Kind` TextChoices.
    """

    kind = models.CharField(_("kind"), max_length=30)
    actor = user_fk(_("by"))
    payload = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} · {self.at:%Y-%m-%d %H:%M}"
