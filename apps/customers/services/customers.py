"""Creating, changing, tagging and deleting customers; the duplicate check (anti-collision)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.org.errors import ServiceError
from apps.studio.automation import record_changed
from apps.studio.validation import validate_custom_or_raise

from ..models import Contact, Customer, CustomerEvent, Tag
from ..normalize import digits, normalize_name
from ._common import apply, bulk_insert, record, refuse_restricted, require
from .territories import territory_for_province

User = get_user_model()

# Fields a create or an update may set directly (owner moves through claim/release/assign).
CUSTOMER_FIELDS = (
    "name",
    "industry",
    "source",
    "level",
    "status",
    "province",
    "city",
    "region",
    "address",
    "phone",
    "email",
    "website",
    "description",
    "territory",
    "department",
    "next_follow_up_at",
)
_DERIVED = ["name_normalized", "name_pinyin", "name_initials", "phone_digits", "custom"]

REASONS = {
    "name": gettext_lazy("Same name"),
    "similar_name": gettext_lazy("Similar name"),
    "phone": gettext_lazy("Same phone"),
    "email": gettext_lazy("Same email"),
}


def _duplicate_error(existing: Customer | None) -> ServiceError:
    if existing is None:
        message = _("A customer with this name already exists.")
    elif existing.owner_id is None:
        message = _("A customer with this name already exists: %(name)s (in the public pool).") % {
            "name": existing.name
        }
    else:
        message = _("A customer with this name already exists: %(name)s (owner: %(owner)s).") % {
            "name": existing.name,
            "owner": existing.owner,
        }
    return ServiceError(message, field="name", code="duplicate")


def _existing_with_key(key: str, exclude_pk=None) -> Customer | None:
    qs = Customer.objects.select_related("owner").filter(name_normalized=key)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _save_unique(customer: Customer, **save_kwargs) -> None:
    """Save, turning a lost race on the normalised-name constraint into the name error."""
    try:
        with transaction.atomic():
            customer.save(**save_kwargs)
    except IntegrityError as exc:
        # PostgreSQL names the constraint, SQLite the column; READ COMMITTED lets us see the
        # row that won the race, so the message can name it.
        text = str(exc)
        if "customers_customer_unique_name" in text or "name_normalized" in text:
            existing = _existing_with_key(customer.name_normalized, exclude_pk=customer.pk)
            raise _duplicate_error(existing) from None
        raise


def _fill_territory(customer: Customer, data: Mapping) -> None:
    """Province given, territory not: the territory (and its region label) follow the province."""
    if "territory" in data and data["territory"] is not None:
        if not customer.region and customer.territory_id:
            customer.region = customer.territory.region or customer.territory.name
        return
    match = territory_for_province(customer.province)
    customer.territory = match.territory if match else None
    if match and not data.get("region"):
        customer.region = match.region


def _clean(customer: Customer) -> None:
    customer.full_clean(exclude=_DERIVED, validate_constraints=False)
    if not customer.name_normalized:
        raise ValidationError({"name": [_("Enter a name with letters or digits.")]})


def _set_tags(customer: Customer, names: Iterable[str]) -> list[str]:
    tags = _tags_named(names)
    customer.tags.set(tags)
    return sorted(t.name for t in tags)


def _tags_named(names: Iterable) -> list[Tag]:
    out, seen = [], set()
    for item in names or []:
        if isinstance(item, Tag):
            tag = item
        else:
            name = str(item).strip()[:50]
            if not name or name in seen:
                continue
            tag, _created = Tag.objects.get_or_create(name=name)
        if tag.name not in seen:
            seen.add(tag.name)
            out.append(tag)
    return out


_OWNER_UNSET = object()


@transaction.atomic
def customer_create(
    *, by, data: Mapping, owner=_OWNER_UNSET, tags: Iterable | None = None
) -> Customer:
    """Create a customer. `owner` defaults to `by` (None: straight into the public pool);
    giving it to someone else needs `customers.assign_customer`. A name that normalises like an
    existing customer's is refused (ServiceError on "name"), also when a concurrent create wins.
    """
    require(by, "customers.add_customer")
    if owner is _OWNER_UNSET:
        owner = data.get("owner", by) if "owner" in data else by
    if owner is not None and not isinstance(owner, User):
        owner = User.objects.filter(pk=owner, is_active=True).first()
        if owner is None:
            raise ServiceError(_("Choose an active user as owner."), field="owner")
    if owner is not None and by is not None and owner.pk != by.pk:
        require(by, "customers.assign_customer")
    refuse_restricted(by, Customer, [k for k in data if k in CUSTOMER_FIELDS or k == "custom"])
    now = timezone.now()
    customer = Customer(created_by=by, created_at=now)
    apply(customer, data, CUSTOMER_FIELDS)
    customer.owner = owner
    if owner is not None:
        customer.owned_since = now
    else:
        customer.pool_entered_at = now
        customer.pool_reason = _("Created in the pool")
    if customer.department_id is None:
        holder = owner or by
        customer.department_id = getattr(holder, "department_id", None)
    _fill_territory(customer, data)
    customer.custom = validate_custom_or_raise(Customer, data.get("custom"), instance=None)
    customer.refresh_keys()
    _clean(customer)
    existing = _existing_with_key(customer.name_normalized)
    if existing is not None:
        raise _duplicate_error(existing)
    _save_unique(customer)
    tag_names = _set_tags(customer, tags) if tags else []
    record(
        customer,
        CustomerEvent.Kind.CREATED,
        by,
        name=customer.name,
        owner=customer.owner_id,
        tags=tag_names,
    )
    record_changed(customer, created=True, by=by)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, by, data: Mapping) -> Customer:
    """Change a customer's fields (not its owner: see claim/release/assign)."""
    require(by, "customers.change_customer", customer)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    names = [k for k in data if k in CUSTOMER_FIELDS or k == "custom"]
    refuse_restricted(by, Customer, names, customer)
    if "owner" in data and data["owner"] != customer.owner_id and data["owner"] != customer.owner:
        raise ServiceError(_("Change the owner by assigning or releasing."), field="owner")
    changes = apply(customer, data, CUSTOMER_FIELDS)
    if "province" in changes and "territory" not in data:
        before = (customer.territory_id, customer.region)
        _fill_territory(customer, data)
        if customer.territory_id != before[0]:
            changes["territory"] = [before[0], customer.territory_id]
        if customer.region != before[1]:
            changes["region"] = [before[1], customer.region]
    if "custom" in data:
        clean = validate_custom_or_raise(Customer, data["custom"], instance=customer, partial=True)
        if clean != customer.custom:
            changes["custom"] = sorted(
                k
                for k in set(clean) | set(customer.custom or {})
                if clean.get(k) != (customer.custom or {}).get(k)
            )
            customer.custom = clean
    if not changes:
        return customer
    customer.refresh_keys()
    _clean(customer)
    if "name" in changes:
        existing = _existing_with_key(customer.name_normalized, exclude_pk=customer.pk)
        if existing is not None:
            raise _duplicate_error(existing)
    fields = [f for f in changes if f != "custom"] + (["custom"] if "custom" in changes else [])
    fields = [Customer._meta.get_field(f).name for f in fields] + ["updated_at"]
    if "email" in changes:
        fields.append("email")
    _save_unique(customer, update_fields=sorted(set(fields)))
    record(customer, CustomerEvent.Kind.UPDATED, by, changes=changes)
    record_changed(customer, changes=changes, by=by)
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer, by) -> None:
    require(by, "customers.delete_customer", customer)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.tickets.exists():
        raise ServiceError(_("This customer has service tickets; merge it instead of deleting."))
    customer.delete()


@transaction.atomic
def customer_tag(
    *, customers: Iterable[Customer], by, add: Iterable = (), remove: Iterable = ()
) -> int:
    """Add and/or remove tags on many customers; returns how many customers changed."""
    add_tags = _tags_named(add)
    remove_names = {str(n).strip() for n in remove if str(n).strip()}
    through = Customer.tags.through
    customers = list(customers)
    for c in customers:
        require(by, "customers.change_customer", c)
    ids = [c.pk for c in customers]
    before = {}
    for cid, name in through.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag__name"
    ):
        before.setdefault(cid, set()).add(name)
    if remove_names:
        through.objects.filter(customer_id__in=ids, tag__name__in=remove_names).delete()
    if add_tags:
        through.objects.bulk_create(
            [through(customer_id=cid, tag_id=t.pk) for cid in ids for t in add_tags],
            ignore_conflicts=True,
        )
    events, now = [], timezone.now()
    for cid in ids:
        old = before.get(cid, set())
        new = (old - remove_names) | {t.name for t in add_tags}
        if new != old:
            events.append(
                CustomerEvent(
                    customer_id=cid,
                    kind=CustomerEvent.Kind.TAGGED,
                    actor=by,
                    at=now,
                    payload={"added": sorted(new - old), "removed": sorted(old - new)},
                )
            )
    CustomerEvent.objects.bulk_create(events)
    if events:
        Customer.objects.filter(pk__in=[e.customer_id for e in events]).update(updated_at=now)
    return len(events)


@transaction.atomic
def customer_set_tags(*, customer: Customer, by, tags: Iterable) -> list[str]:
    """Replace a customer's tags with `tags` (names or Tag rows)."""
    require(by, "customers.change_customer", customer)
    old = set(customer.tags.values_list("name", flat=True))
    names = _set_tags(customer, tags)
    if set(names) != old:
        record(
            customer,
            CustomerEvent.Kind.TAGGED,
            by,
            added=sorted(set(names) - old),
            removed=sorted(old - set(names)),
        )
    return names


# --- duplicate check ----------------------------------------------------------------------


@dataclass
class DuplicateCandidate:
    customer: Customer
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[r]) for r in self.reasons]


@lru_cache(maxsize=8)
def _has_trigram(alias: str = "default") -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def _substrings(key: str, min_len: int) -> list[str]:
    out = {
        key[i:j]
        for i in range(len(key))
        for j in range(i + min_len, len(key) + 1)
        if j - i < len(key)
    }
    return sorted(out, key=len, reverse=True)[:400]


def customer_check_duplicates(
    *, name: str = "", phone: str = "", email: str = "", exclude_pk=None, limit: int = 10
) -> list[DuplicateCandidate]:
    """Likely duplicates of a customer about to be created (or edited), with the reasons.

    Looks at every customer, not only the caller's: the point is to tell a rep that a colleague
    already works the account. Callers show visible candidates fully and others by name and
    owner only. Name: the same normalised name, a name containing it (3+ characters), a name
    contained in it (half its length or more), and on PostgreSQL trigram similarity. Phone:
    same digits (customers and their contacts). Email: same address (customers and contacts).
    Every branch is an indexed look-up with a LIMIT.
    """
    found: dict[int, DuplicateCandidate] = {}
    base = Customer.objects.select_related("owner")
    if exclude_pk is not None:
        base = base.exclude(pk=exclude_pk)

    def add(rows, reason):
        for c in rows:
            cand = found.setdefault(c.pk, DuplicateCandidate(customer=c))
            if reason not in cand.reasons:
                cand.reasons.append(reason)

    key = normalize_name(name or "")
    if key:
        add(base.filter(name_normalized=key)[:1], "name")
        similar = Q(pk__in=[])
        if len(key) >= 3:
            similar |= Q(name_normalized__contains=key)
        subs = _substrings(key, max(2, (len(key) + 1) // 2))
        if subs:
            similar |= Q(name_normalized__in=subs)
        if len(key) >= 3 and _has_trigram():
            # `%` is pg_trgm's "similar to" operator (GIN-indexed); the value is a parameter.
            similar |= Q(
                RawSQL(  # noqa: S611
                    f'"{Customer._meta.db_table}"."name_normalized" %% %s',
                    [key],
                    output_field=BooleanField(),
                )
            )
        add(base.filter(similar).exclude(name_normalized=key)[:limit], "similar_name")
    phone_key = digits(phone or "")
    if len(phone_key) >= 6:
        by_contact = Contact.objects.filter(Q(mobile=phone.strip()) | Q(mobile=phone_key))
        add(
            base.filter(
                Q(phone_digits=phone_key) | Q(pk__in=by_contact.values("customer_id")[:limit])
            )[:limit],
            "phone",
        )
    email_key = (email or "").strip().lower()
    if email_key and "@" in email_key:
        by_contact = Contact.objects.filter(email=email_key)
        add(
            base.filter(Q(email=email_key) | Q(pk__in=by_contact.values("customer_id")[:limit]))[
                :limit
            ],
            "email",
        )
    order = {"name": 0, "phone": 1, "email": 1, "similar_name": 2}
    ranked = sorted(
        found.values(),
        key=lambda c: (min(order[r] for r in c.reasons), -len(c.reasons), c.customer.name),
    )
    return ranked[:limit]


@transaction.atomic
def customer_bulk_import(
    *, by, customers: list[Customer], batch_size: int | None = 1000
) -> list[Customer]:
    """Insert many new, checked customers at once (Excel import, demo data).

    Each is completed like `customer_create` would: owner (default `by`; someone else needs
    `customers.assign_customer`), department, territory/region from the province, derived
    keys, a "created" history row, tags (`customer._import_tags`) and unique custom values. A
    normalised name that exists by now aborts the whole batch with the name error.
    """
    from apps.studio.registry import definitions_for
    from apps.studio.validation import sync_unique_values

    from .territories import territory_map

    require(by, "customers.add_customer")
    if not customers:
        return []
    now = timezone.now()
    territories = territory_map()
    others = {
        c.owner_id for c in customers if c.owner_id and by is not None and c.owner_id != by.pk
    }
    if others:
        require(by, "customers.assign_customer")
    for c in customers:
        c.created_by = by
        c.created_at = c.created_at or now
        if c.owner_id is None and by is not None and not getattr(c, "_to_pool", False):
            c.owner = by
        if c.owner_id is not None:
            c.owned_since = c.owned_since or now
        else:
            c.pool_entered_at = c.pool_entered_at or now
        if c.department_id is None:
            holder = c.owner if c.owner_id else by
            c.department_id = getattr(holder, "department_id", None)
        if c.territory_id is None and c.province:
            territory = territories.get(c.province)
            if territory is not None:
                c.territory = territory
                c.region = c.region or territory.region or territory.name
        c.refresh_keys()
    try:
        with transaction.atomic():
            bulk_insert(Customer, customers, batch_size=batch_size, by=by)
    except IntegrityError as exc:
        if "name" in str(exc):
            raise ServiceError(
                _("A customer with one of these names was created meanwhile; check again."),
                field="name",
            ) from None
        raise
    if any(d.unique for d in definitions_for(Customer)):
        for c in customers:
            sync_unique_values(c)
    tag_rows = []
    through = Customer.tags.through
    for c in customers:
        names = getattr(c, "_import_tags", None)
        if names:
            tag_rows.extend(through(customer_id=c.pk, tag_id=t.pk) for t in _tags_named(names))
    through.objects.bulk_create(tag_rows, ignore_conflicts=True, batch_size=batch_size)
    bulk_insert(
        CustomerEvent,
        [
            CustomerEvent(
                customer=c,
                kind=CustomerEvent.Kind.CREATED,
                actor=by,
                at=now,
                payload={"name": c.name, "owner": c.owner_id, "import": True},
            )
            for c in customers
        ],
        batch_size=batch_size,
    )
    return customers
