"""Bulk actions on leads chosen by id (the list page's checkboxes, `POST leads/bulk-assign/`).

Kept apart from `leads.py` so the single-lead services stay as they are: this module checks
the whole selection first and then calls `lead_bulk_assign`, so a selection is given away
entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from apps.customers.services._common import require
from apps.org.errors import ServiceError

from ..models import Lead
from .leads import OPEN, _user_or_error, lead_bulk_assign

MAX_BULK = 500


def _ids(values: Iterable) -> list[int]:
    out: list[int] = []
    bad: list[str] = []
    for v in values or ():
        try:
            pk = int(v)
        except (TypeError, ValueError):
            bad.append(str(v))
            continue
        if pk not in out:
            out.append(pk)
    if bad:
        raise ServiceError(_("Not lead ids: %(ids)s.") % {"ids": ", ".join(bad[:20])}, field="ids")
    if not out:
        raise ServiceError(_("Choose at least one lead."), field="ids")
    if len(out) > MAX_BULK:
        raise ServiceError(_("At most %(n)s leads at a time.") % {"n": MAX_BULK}, field="ids")
    return out


@transaction.atomic
def lead_bulk_assign_ids(*, ids: Iterable, owner, by) -> list[Lead]:
    """Give the leads `ids` to `owner`, all or none.

    Needs `sales.assign_lead`. Every id must be an open lead the caller may change; otherwise
    nothing changes and the error names the ids refused (unknown and out-of-scope ids are
    reported alike, so the answer does not reveal which leads exist)."""
    require(by, "sales.assign_lead")
    require(by, "sales.change_lead")
    pks = _ids(ids)
    owner = _user_or_error(owner)
    if owner is None:
        raise ServiceError(_("Choose the new owner."), field="owner")
    leads = list(
        Lead.objects.visible_to(by, "change").filter(pk__in=pks).select_for_update().order_by("pk")
    )
    found = {lead.pk: lead for lead in leads}
    messages = []
    missing = [pk for pk in pks if pk not in found]
    if missing:
        messages.append(
            _("No lead you may change with id %(ids)s.")
            % {"ids": ", ".join(str(pk) for pk in missing)}
        )
    closed = [pk for pk in pks if pk in found and found[pk].status not in OPEN]
    if closed:
        messages.append(
            _("Closed leads cannot be assigned: %(ids)s.")
            % {"ids": ", ".join(str(pk) for pk in closed)}
        )
    if messages:
        raise ServiceError(messages[0], errors={"ids": messages})
    return lead_bulk_assign(leads=[found[pk] for pk in pks], owner=owner, by=by)
