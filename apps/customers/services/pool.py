"""The public pool (公海): claim, release, assign, and the daily recycling job."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ConflictError, ServiceError
from apps.org.history import record_history
from apps.studio.automation import record_changed

from ..models import ClaimLimit, Customer, CustomerEvent, PoolRule
from ._common import record, require

User = get_user_model()

MAX_REASON = 300


def claim_limit_for(user) -> int | None:
    """Most customers `user` may own (the highest of their roles' limits); None: no limit."""
    if user.is_superuser:
        return None
    limits = list(
        ClaimLimit.objects.filter(role__user=user).values_list("max_customers", flat=True)
    )
    return max(limits) if limits else None


def owned_count(user) -> int:
    return Customer.objects.filter(owner=user).count()


def _take(customer: Customer, owner, now) -> None:
    customer.previous_owner_id = customer.owner_id or customer.previous_owner_id
    customer.owner = owner
    customer.department_id = owner.department_id or customer.department_id
    customer.owned_since = now
    customer.pool_entered_at = None
    customer.pool_reason = ""
    customer.recycle_warned_at = None


_TAKE_FIELDS = [
    "owner",
    "previous_owner",
    "department",
    "owned_since",
    "pool_entered_at",
    "pool_reason",
    "recycle_warned_at",
    "updated_at",
]


@transaction.atomic
def customer_claim(*, customer: Customer, by) -> Customer:
    """Take a pool customer. Refused beyond the claim limit of the user's roles; two people
    claiming at once: one wins, the other gets ConflictError."""
    require(by, "customers.claim_customer")
    # Lock the claimant first: one person's concurrent claims of different customers must
    # not both slip under the limit.
    User.objects.select_for_update().filter(pk=by.pk).first()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.owner_id is not None:
        if customer.owner_id == by.pk:
            raise ConflictError(_("You already own this customer."))
        raise ConflictError(_("This customer is no longer in the pool."))
    limit = claim_limit_for(by)
    if limit is not None and owned_count(by) >= limit:
        raise ServiceError(
            _("You already own %(count)s customers, the most your role allows.") % {"count": limit},
            code="claim_limit",
        )
    now = timezone.now()
    _take(customer, by, now)
    customer.save(update_fields=_TAKE_FIELDS)
    record(customer, CustomerEvent.Kind.CLAIMED, by, owner=by.pk)
    record_changed(customer, changes={"owner": [None, by.pk]}, by=by)
    return customer


@transaction.atomic
def customer_release(*, customer: Customer, by, reason: str) -> Customer:
    """Put a customer back into the pool with a reason (its owner or a manager)."""
    require(by, "customers.change_customer", customer)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the customer goes back to the pool."), field="reason")
    if len(reason) > MAX_REASON:
        raise ServiceError(
            _("The reason is too long (at most %(n)s characters).") % {"n": MAX_REASON},
            field="reason",
        )
    customer = (
        Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer.pk)
    )
    if customer.owner_id is None:
        raise ConflictError(_("This customer is already in the pool."))
    previous = customer.owner
    now = timezone.now()
    customer.previous_owner = previous
    customer.owner = None
    customer.owned_since = None
    customer.pool_entered_at = now
    customer.pool_reason = reason
    customer.recycle_warned_at = None
    customer.save(
        update_fields=[
            "owner",
            "previous_owner",
            "owned_since",
            "pool_entered_at",
            "pool_reason",
            "recycle_warned_at",
            "updated_at",
        ]
    )
    record(customer, CustomerEvent.Kind.RELEASED, by, previous_owner=previous.pk, reason=reason)
    record_changed(customer, changes={"owner": [previous.pk, None]}, by=by)
    if by is None or previous.pk != by.pk:
        notify.send(
            previous,
            "customers.released",
            customer,
            actor=by,
            message=_("%(customer)s was released to the public pool: %(reason)s")
            % {"customer": customer.name, "reason": reason},
        )
    return customer


@transaction.atomic
def customer_assign(*, customers: Iterable[Customer], owner, by) -> list[Customer]:
    """Give customers (owned or from the pool) to `owner`; needs `customers.assign_customer`
    and the right to change each of them. Claim limits do not apply: a manager decides."""
    require(by, "customers.assign_customer")
    if owner is None or not owner.is_active:
        raise ServiceError(_("Choose an active user as owner."), field="owner")
    ids = sorted({c.pk for c in customers})
    # Row locks in id order: two bulk assignments never deadlock.
    locked = list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    changed, events = [], []
    for customer in locked:
        if by is not None and customer.owner_id is not None:
            require(by, "customers.change_customer", customer)
        elif by is not None and not by.has_perm("customers.view_customer", customer):
            require(by, "customers.change_customer", customer)
        if customer.owner_id == owner.pk:
            continue
        previous = customer.owner_id
        _take(customer, owner, now)
        customer.save(update_fields=_TAKE_FIELDS)
        events.append(
            CustomerEvent(
                customer=customer,
                kind=CustomerEvent.Kind.ASSIGNED,
                actor=by,
                at=now,
                payload={"owner": owner.pk, "previous_owner": previous},
            )
        )
        changed.append(customer)
        record_changed(customer, changes={"owner": [previous, owner.pk]}, by=by)
    CustomerEvent.objects.bulk_create(events)
    if changed and (by is None or owner.pk != by.pk):
        if len(changed) == 1:
            message = _("%(customer)s was assigned to you.") % {"customer": changed[0].name}
            notify.send(owner, "customers.assigned", changed[0], actor=by, message=message)
        else:
            message = _("%(count)s customers were assigned to you.") % {"count": len(changed)}
            notify.send(owner, "customers.assigned", None, actor=by, message=message)
    return changed


# --- the daily job --------------------------------------------------------------------------


def _activity():
    """When the owner last worked the customer: the latest of last contact and taking it."""
    return Greatest(
        Coalesce("last_contacted_at", "created_at"), Coalesce("owned_since", "created_at")
    )


def pool_recycle(*, now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Return idle customers to the pool and warn their owners beforehand (idempotent).

    Per active `PoolRule(level, days, warn_days)`: an owned customer of that level whose last
    activity (latest of last follow-up and the day its owner took it) is `days` or more ago
    goes to the pool; one whose activity is `days - warn_days` or more ago gets one warning to
    its owner (reset when the customer is worked on, claimed or assigned). Runs in batches,
    each in its own transaction; rows locked by a user are left for the next run.
    """
    now = now or timezone.now()
    warned = recycled = 0
    for rule in PoolRule.objects.filter(active=True):
        owned = Customer.objects.filter(level=rule.level, owner__isnull=False).alias(
            activity=_activity()
        )
        cutoff = now - dt.timedelta(days=rule.days)
        ids = list(owned.filter(activity__lte=cutoff).values_list("pk", flat=True))
        for start in range(0, len(ids), batch):
            recycled += _recycle_batch(ids[start : start + batch], rule, cutoff, now)
        if rule.warn_days:
            warn_cutoff = now - dt.timedelta(days=rule.days - rule.warn_days)
            ids = list(
                owned.filter(
                    activity__lte=warn_cutoff, activity__gt=cutoff, recycle_warned_at__isnull=True
                ).values_list("pk", flat=True)
            )
            for start in range(0, len(ids), batch):
                warned += _warn_batch(ids[start : start + batch], rule, now)
    return {"warned": warned, "recycled": recycled}


@transaction.atomic
def _recycle_batch(ids: list[int], rule: PoolRule, cutoff, now) -> int:
    rows = list(
        Customer.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, owner__isnull=False, level=rule.level)
        .alias(activity=_activity())
        .filter(activity__lte=cutoff)
        .select_related("owner")
    )
    if not rows:
        return 0
    reason = _("No follow-up for %(days)s days") % {"days": rule.days}
    by_owner = defaultdict(list)
    events = []
    for c in rows:
        by_owner[c.owner].append(c)
        events.append(
            CustomerEvent(
                customer=c,
                kind=CustomerEvent.Kind.RECYCLED,
                at=now,
                payload={"previous_owner": c.owner_id, "days": rule.days},
            )
        )
    Customer.objects.filter(pk__in=[c.pk for c in rows]).update(
        previous_owner=F("owner"),
        owner=None,
        owned_since=None,
        pool_entered_at=now,
        pool_reason=reason,
        recycle_warned_at=None,
        updated_at=now,
    )
    record_history(Customer, [c.pk for c in rows], reason=reason)
    CustomerEvent.objects.bulk_create(events)
    for owner, customers in by_owner.items():
        _notify_owner(
            owner,
            "customers.recycled",
            customers,
            one=_("%(customer)s went back to the public pool: no follow-up for %(days)s days."),
            many=_("%(count)s of your customers went back to the public pool (no follow-up)."),
            days=rule.days,
        )
    return len(rows)


@transaction.atomic
def _warn_batch(ids: list[int], rule: PoolRule, now) -> int:
    rows = list(
        Customer.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, owner__isnull=False, recycle_warned_at__isnull=True)
        .select_related("owner")
    )
    if not rows:
        return 0
    Customer.objects.filter(pk__in=[c.pk for c in rows]).update(recycle_warned_at=now)
    CustomerEvent.objects.bulk_create(
        [
            CustomerEvent(
                customer=c,
                kind=CustomerEvent.Kind.RECYCLE_WARNED,
                at=now,
                payload={"owner": c.owner_id, "days_left": rule.warn_days},
            )
            for c in rows
        ]
    )
    by_owner = defaultdict(list)
    for c in rows:
        by_owner[c.owner].append(c)
    for owner, customers in by_owner.items():
        _notify_owner(
            owner,
            "customers.recycle_warning",
            customers,
            one=_(
                "%(customer)s goes back to the public pool in %(days)s days unless you follow up."
            ),
            many=_(
                "%(count)s of your customers go back to the public pool in %(days)s days "
                "unless you follow up."
            ),
            days=rule.warn_days,
        )
    return len(rows)


def _notify_owner(owner, event: str, customers: list[Customer], *, one: str, many: str, days):
    # One notice per customer for a few, one summary for many: an inbox, not a flood.
    if len(customers) <= 5:
        for c in customers:
            notify.send(owner, event, c, message=one % {"customer": c.name, "days": days})
    else:
        notify.send(owner, event, None, message=many % {"count": len(customers), "days": days})
