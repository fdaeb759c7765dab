"""Contacts (primary flag, reporting line) and follow-ups (with their reminders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.org.errors import ServiceError
from apps.studio.automation import record_changed
from apps.studio.validation import validate_custom_or_raise

from ..models import Contact, Customer, CustomerEvent, FollowUp
from ..normalize import pinyin_keys
from ._common import apply, bulk_insert, record, refuse_restricted, require

CONTACT_FIELDS = (
    "name",
    "title",
    "department_name",
    "mobile",
    "phone",
    "email",
    "wechat",
    "is_primary",
    "reports_to",
    "notes",
)
FOLLOW_UP_FIELDS = (
    "contact",
    "opportunity_id",
    "kind",
    "content",
    "occurred_at",
    "next_step",
    "next_follow_up_at",
)
# A follow-up describes something that happened; a little clock skew is tolerated.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def _clean_contact(contact: Contact) -> None:
    contact.full_clean(
        exclude=["customer", "name_pinyin", "name_initials", "custom", "created_by"],
        validate_constraints=False,
    )


def _make_primary(contact: Contact) -> None:
    """Demote the customer's other primary contact (locked) before this one becomes primary."""
    Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
        pk=contact.pk
    ).update(is_primary=False)


@transaction.atomic
def contact_create(*, customer: Customer, by, data: Mapping) -> Contact:
    """Add a contact to a customer. The first contact of a customer becomes its primary one."""
    require(by, "customers.add_contact")
    require(by, "customers.change_customer", customer)
    refuse_restricted(by, Contact, [k for k in data if k in CONTACT_FIELDS or k == "custom"])
    # Lock the customer: two contacts added at once must not both become primary.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    contact = Contact(customer=customer, created_by=by)
    apply(contact, data, CONTACT_FIELDS)
    if not Contact.objects.filter(customer=customer).exists():
        contact.is_primary = True
    contact.custom = validate_custom_or_raise(Contact, data.get("custom"), instance=None)
    _clean_contact(contact)
    if contact.is_primary:
        _make_primary(contact)
    contact.save()
    record(customer, CustomerEvent.Kind.CONTACT_ADDED, by, contact=contact.pk, name=contact.name)
    record_changed(contact, created=True, by=by)
    return contact


@transaction.atomic
def contact_bulk_import(
    *, by, contacts: list[Contact], fields: list[str], batch_size: int | None = 1000
) -> list[Contact]:
    """Insert many new, checked contacts at once (Excel import), by `contact_create`'s rules.

    `fields` names the columns the file sets (field security refuses restricted ones). Each
    customer must be one `by` may change; customers are locked. A customer without contacts
    gets its first imported one as primary; a contact imported as primary demotes the
    customer's other primary (the last such row of the file wins). One "contact added"
    history row per contact. Every query is per batch, none per row.
    """
    from apps.studio.registry import definitions_for
    from apps.studio.validation import sync_unique_values

    require(by, "customers.add_contact")
    if not contacts:
        return []
    refuse_restricted(by, Contact, [f for f in fields if f in CONTACT_FIELDS or f == "custom"])
    customers = {c.customer_id: c.customer for c in contacts}
    for customer in customers.values():
        require(by, "customers.change_customer", customer)
    ids = sorted(customers)
    with_contacts: set[int] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        list(Customer.objects.select_for_update().filter(pk__in=chunk).values_list("pk"))
        with_contacts.update(
            Contact.objects.filter(customer_id__in=chunk)
            .values_list("customer_id", flat=True)
            .distinct()
        )
    last_primary: dict[int, Contact] = {}
    first: dict[int, Contact] = {}
    custom_defs = definitions_for(Contact)
    for c in contacts:
        c.created_by = by
        c.name = (c.name or "").strip()
        c.name_pinyin, c.name_initials = pinyin_keys(c.name)
        c.email = (c.email or "").strip().lower()
        if custom_defs:
            c.custom = validate_custom_or_raise(Contact, c.custom, instance=None)
        first.setdefault(c.customer_id, c)
        if c.is_primary:
            last_primary[c.customer_id] = c
    for c in contacts:
        c.is_primary = last_primary.get(c.customer_id) is c or (
            c.customer_id not in last_primary
            and c.customer_id not in with_contacts
            and first[c.customer_id] is c
        )
    demote = sorted(set(last_primary) & with_contacts)
    for start in range(0, len(demote), 5000):
        Contact.objects.filter(
            customer_id__in=demote[start : start + 5000], is_primary=True
        ).update(is_primary=False)
    bulk_insert(Contact, contacts, batch_size=batch_size, by=by)
    if any(d.unique for d in custom_defs):
        for c in contacts:
            sync_unique_values(c)
    bulk_insert(
        CustomerEvent,
        [
            CustomerEvent(
                customer_id=c.customer_id,
                kind=CustomerEvent.Kind.CONTACT_ADDED,
                actor=by,
                payload={"contact": c.pk, "name": c.name, "import": True},
            )
            for c in contacts
        ],
        batch_size=batch_size,
    )
    return contacts


@transaction.atomic
def contact_update(*, contact: Contact, by, data: Mapping) -> Contact:
    require(by, "customers.change_contact", contact)
    if "customer" in data and data["customer"] not in (contact.customer_id, contact.customer):
        raise ServiceError(_("A contact cannot move to another customer."), field="customer")
    Customer.objects.select_for_update().filter(pk=contact.customer_id).first()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    refuse_restricted(
        by, Contact, [k for k in data if k in CONTACT_FIELDS or k == "custom"], contact
    )
    changes = apply(contact, data, CONTACT_FIELDS)
    if "custom" in data:
        clean = validate_custom_or_raise(Contact, data["custom"], instance=contact, partial=True)
        if clean != contact.custom:
            old = contact.custom or {}
            changes["custom"] = sorted(
                k for k in set(clean) | set(old) if clean.get(k) != old.get(k)
            )
            contact.custom = clean
    if not changes:
        return contact
    if changes.get("is_primary") == [True, False]:
        raise ServiceError(
            _("Make another contact primary instead of un-marking this one."), field="is_primary"
        )
    _clean_contact(contact)
    if contact.is_primary and "is_primary" in changes:
        _make_primary(contact)
    contact.save()
    record(
        contact.customer,
        CustomerEvent.Kind.CONTACT_UPDATED,
        by,
        contact=contact.pk,
        name=contact.name,
        changes=sorted(changes),
    )
    record_changed(contact, changes=changes, by=by)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, by) -> None:
    """Remove a contact; if it was primary, the oldest remaining contact becomes primary."""
    require(by, "customers.delete_contact", contact)
    Customer.objects.select_for_update().filter(pk=contact.customer_id).first()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    customer, was_primary, name, pk = contact.customer, contact.is_primary, contact.name, contact.pk
    contact.delete()
    if was_primary:
        heir = Contact.objects.filter(customer=customer).order_by("created_at", "pk").first()
        if heir is not None:
            Contact.objects.filter(pk=heir.pk).update(is_primary=True)
    record(customer, CustomerEvent.Kind.CONTACT_REMOVED, by, contact=pk, name=name)


# --- follow-ups -----------------------------------------------------------------------------


def _check_follow_up(follow_up: FollowUp, now) -> None:
    errors = {}
    if not (follow_up.content or "").strip():
        errors["content"] = [_("Write what happened.")]
    if follow_up.occurred_at and follow_up.occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = [_("A follow-up records something that already happened.")]
    if (
        follow_up.next_follow_up_at
        and follow_up.occurred_at
        and follow_up.next_follow_up_at <= follow_up.occurred_at
    ):
        errors["next_follow_up_at"] = [_("The next follow-up must come after this one.")]
    if follow_up.contact_id is not None and follow_up.contact.customer_id != follow_up.customer_id:
        errors["contact"] = [_("The contact belongs to another customer.")]
    if errors:
        raise ValidationError(errors)
    follow_up.full_clean(exclude=["customer", "owner", "contact"], validate_constraints=False)


@transaction.atomic
def follow_up_log(*, customer: Customer, by, data: Mapping) -> FollowUp:
    """Record a call, visit, meeting… Side effects on the customer: last contacted date, next
    follow-up date, the recycling clock restarts, a potential customer becomes "following up";
    the customer's older pending reminders are superseded by this one."""
    require(by, "customers.add_followup")
    require(by, "customers.change_customer", customer)
    now = timezone.now()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    follow_up = FollowUp(customer=customer, owner=by, created_at=now, occurred_at=now)
    apply(follow_up, data, FOLLOW_UP_FIELDS)
    _check_follow_up(follow_up, now)
    follow_up.save()
    FollowUp.objects.filter(customer=customer, reminded_at__isnull=True).exclude(
        pk=follow_up.pk
    ).update(reminded_at=now)
    fields = ["recycle_warned_at", "updated_at"]
    customer.recycle_warned_at = None
    if customer.last_contacted_at is None or follow_up.occurred_at > customer.last_contacted_at:
        customer.last_contacted_at = follow_up.occurred_at
        fields.append("last_contacted_at")
    if follow_up.next_follow_up_at:
        customer.next_follow_up_at = follow_up.next_follow_up_at
        fields.append("next_follow_up_at")
    elif customer.next_follow_up_at and customer.next_follow_up_at <= follow_up.occurred_at:
        customer.next_follow_up_at = None
        fields.append("next_follow_up_at")
    if customer.status == Customer.Status.POTENTIAL:
        customer.status = Customer.Status.FOLLOWING
        fields.append("status")
    customer.save(update_fields=fields)
    record(
        customer,
        CustomerEvent.Kind.FOLLOWED_UP,
        by,
        follow_up=follow_up.pk,
        follow_up_kind=follow_up.kind,
        occurred_at=follow_up.occurred_at.isoformat(),
    )
    record_changed(follow_up, created=True, by=by)
    customer_changes = {f: None for f in fields if f not in ("recycle_warned_at", "updated_at")}
    if customer_changes:
        record_changed(customer, changes=customer_changes, by=by)
    return follow_up


def _refresh_last_contacted(customer_id: int) -> None:
    latest = FollowUp.objects.filter(customer_id=customer_id).aggregate(m=Max("occurred_at"))["m"]
    Customer.objects.filter(pk=customer_id).update(last_contacted_at=latest)


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, by, data: Mapping) -> FollowUp:
    require(by, "customers.change_followup", follow_up)
    if "customer" in data and data["customer"] not in (follow_up.customer_id, follow_up.customer):
        raise ServiceError(_("A follow-up cannot move to another customer."), field="customer")
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    changes = apply(follow_up, data, FOLLOW_UP_FIELDS)
    if not changes:
        return follow_up
    _check_follow_up(follow_up, timezone.now())
    if "next_follow_up_at" in changes:
        follow_up.reminded_at = None
    follow_up.save()
    if "occurred_at" in changes:
        _refresh_last_contacted(follow_up.customer_id)
    return follow_up


@transaction.atomic
def follow_up_delete(*, follow_up: FollowUp, by) -> None:
    require(by, "customers.delete_followup", follow_up)
    customer_id = follow_up.customer_id
    follow_up.delete()
    _refresh_last_contacted(customer_id)


def follow_up_remind_due(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Remind owners of follow-ups whose next date has come (once per follow-up; idempotent).

    The customer's owner is reminded (the author when the customer sits in the pool).
    """
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(
                FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(next_follow_up_at__lte=now, reminded_at__isnull=True)
                .select_related("customer__owner", "owner", "contact")
                .order_by("next_follow_up_at", "pk")[:batch]
            )
            if not rows:
                return sent
            FollowUp.objects.filter(pk__in=[f.pk for f in rows]).update(reminded_at=now)
            for f in rows:
                recipient = f.customer.owner or f.owner
                step = f.next_step or f.get_kind_display()
                notify.send(
                    recipient,
                    "customers.follow_up_due",
                    f.customer,
                    message=_("Follow up with %(customer)s: %(step)s")
                    % {"customer": f.customer.name, "step": step},
                )
            sent += len(rows)
