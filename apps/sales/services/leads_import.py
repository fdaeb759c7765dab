"""Bulk lead capture (Excel import, demo data, benchmarks): the same rules as `lead_create`,
in a fixed number of queries per batch rather than per row.

* cleaning — the batch's keys are looked up at once (originals by duplicate key, mobile and
  e-mail; customers by name, phone and e-mail); a row repeating an earlier row of the batch
  becomes that row's duplicate;
* routing — rows without an owner go to the owner of what they duplicate, else through the
  assignment rules with in-memory state: round-robin pointers are read under a row lock once
  and written back once, least-loaded counts are read once and incremented as leads are
  handed out, territory owners come from one territory map; then the fallback owner;
* history — a "created" event per lead (+ "duplicate", "assigned"), bulk-inserted;
* notification — one message per new owner ("n new leads"), not one per lead.

All or nothing: the caller's transaction holds everything; a concurrent insert that takes a
duplicate key first aborts the batch with an error (nothing is written).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.customers.models import Customer
from apps.customers.services._common import require
from apps.customers.services.territories import territory_map
from apps.org.errors import ServiceError
from apps.org.history import record_created_history

from ..models import AssignmentRule, Lead, LeadEvent, LeadSource, SalesSettings
from .leads_assign import active_rules, rule_matches

CHUNK = 1000


def _chunks(values, size=CHUNK):
    values = sorted(v for v in set(values) if v)
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _BulkRouter:
    """The assignment rules with their state held in memory for one batch."""

    def __init__(self):
        self.rules = active_rules()
        rr = [r.pk for r in self.rules if r.strategy == AssignmentRule.Strategy.ROUND_ROBIN]
        self.pointer = dict(
            AssignmentRule.objects.select_for_update()
            .filter(pk__in=rr)
            .values_list("pk", "last_user_id")
        )
        self.moved: set[int] = set()
        self.loads: dict[int, dict[int, int]] = {}
        self.fallback = SalesSettings.load().fallback_owner
        if self.fallback is not None and not self.fallback.is_active:
            self.fallback = None

    def _users(self, rule):
        return sorted((u for u in rule.users.all() if u.is_active), key=lambda u: u.pk)

    def pick(self, lead: Lead):
        S = AssignmentRule.Strategy
        for rule in self.rules:
            if not rule_matches(rule, lead):
                continue
            owner = None
            if rule.strategy == S.TERRITORY_OWNER:
                territory = lead.territory or (rule.territory if rule.territory_id else None)
                owner = territory.owner if territory is not None else None
                owner = owner if owner is not None and owner.is_active else None
            else:
                users = self._users(rule)
                if users and rule.strategy == S.SINGLE:
                    owner = users[0]
                elif users and rule.strategy == S.LEAST_LOADED:
                    loads = self.loads.get(rule.pk)
                    if loads is None:
                        loads = self.loads[rule.pk] = dict(
                            Lead.objects.open()
                            .filter(owner__in=[u.pk for u in users])
                            .order_by()
                            .values_list("owner")
                            .annotate(n=Count("pk"))
                        )
                    owner = min(users, key=lambda u: (loads.get(u.pk, 0), u.pk))
                    loads[owner.pk] = loads.get(owner.pk, 0) + 1
                elif users:
                    ids = [u.pk for u in users]
                    last = self.pointer.get(rule.pk)
                    if last in ids:
                        owner = users[(ids.index(last) + 1) % len(users)]
                    else:
                        later = [u for u in users if last is not None and u.pk > last]
                        owner = later[0] if later else users[0]
                    self.pointer[rule.pk] = owner.pk
                    self.moved.add(rule.pk)
            if owner is not None:
                return owner, rule
        return self.fallback, None

    def save(self):
        for pk in self.moved:
            AssignmentRule.objects.filter(pk=pk).update(last_user_id=self.pointer[pk])


@transaction.atomic
def lead_bulk_import(
    *, by, leads: list[Lead], batch_size: int = CHUNK, notify_owners: bool = True
) -> list[Lead]:
    """Insert many new, checked leads (see the module docstring). A lead's `owner` (set by
    the caller) wins; giving leads to someone else than `by` needs `sales.assign_lead`."""
    require(by, "sales.add_lead")
    if not leads:
        return []
    if by is not None and any(lead.owner_id and lead.owner_id != by.pk for lead in leads):
        require(by, "sales.assign_lead")
    now = timezone.now()
    territories = territory_map()
    for lead in leads:
        lead.created_by = by
        lead.created_at = lead.created_at or now
        lead.source = lead.source or LeadSource.IMPORT
        if lead.territory_id is None and lead.province:
            lead.territory = territories.get(lead.province)
        lead.refresh_keys()

    # Cleaning: what exists already (chunks of indexed look-ups).
    originals: dict[tuple[str, str], Lead] = {}
    fields = ("pk", "dedupe_key", "mobile_digits", "email", "owner_id", "created_at")
    for name, attr in (("dedupe_key", "dedupe_key"), ("mobile_digits", "mobile_digits")):
        for chunk in _chunks(getattr(lead, attr) for lead in leads):
            for row in (
                Lead.objects.filter(**{f"{name}__in": chunk}, duplicate_of__isnull=True)
                .select_related("owner")
                .order_by("created_at", "pk")
                .only(*fields, "owner__is_active", "owner__department_id")
            ):
                originals.setdefault((name, getattr(row, attr)), row)
    for chunk in _chunks(lead.email for lead in leads):
        for row in (
            Lead.objects.filter(email__in=chunk, duplicate_of__isnull=True)
            .select_related("owner")
            .order_by("created_at", "pk")
            .only(*fields, "owner__is_active", "owner__department_id")
        ):
            originals.setdefault(("email", row.email), row)
    customers: dict[tuple[str, str], Customer] = {}
    names = {lead.company_normalized for lead in leads}
    phones = {lead.mobile_digits for lead in leads if len(lead.mobile_digits) >= 6}
    mails = {lead.email for lead in leads if "@" in lead.email}
    for field, values in (("name_normalized", names), ("phone_digits", phones), ("email", mails)):
        for chunk in _chunks(values):
            for c in (
                Customer.objects.filter(**{f"{field}__in": chunk})
                .select_related("owner")
                .only("pk", field, "owner__is_active", "owner__department_id")
            ):
                customers.setdefault((field, getattr(c, field)), c)

    def lead_match(lead):
        for key in (
            ("dedupe_key", lead.dedupe_key if lead.dedupe_key.startswith("c:") else ""),
            ("mobile_digits", lead.mobile_digits if len(lead.mobile_digits) >= 6 else ""),
            ("email", lead.email if "@" in lead.email else ""),
        ):
            if key[1] and key in originals:
                return originals[key]
        return None

    def customer_match(lead):
        for key in (
            ("name_normalized", lead.company_normalized),
            ("phone_digits", lead.mobile_digits if len(lead.mobile_digits) >= 6 else ""),
            ("email", lead.email if "@" in lead.email else ""),
        ):
            if key[1] and key in customers:
                return customers[key]
        return None

    router = _BulkRouter()
    batch_originals: dict[tuple[str, str], Lead] = {}
    routed: list[tuple[Lead, str, AssignmentRule | None]] = []
    for lead in leads:
        original = lead_match(lead)
        if original is None:
            for key in (
                ("dedupe_key", lead.dedupe_key if lead.dedupe_key.startswith("c:") else ""),
                ("mobile_digits", lead.mobile_digits if len(lead.mobile_digits) >= 6 else ""),
                ("email", lead.email if "@" in lead.email else ""),
            ):
                if key[1] and key in batch_originals:
                    original = batch_originals[key]
                    break
        if original is None and lead.dedupe_key:
            # A non-company key may equal an existing original's key too (same mobile).
            original = originals.get(("dedupe_key", lead.dedupe_key))
        lead.duplicate_of = original
        lead.duplicate_customer = customer_match(lead)
        if original is None:
            for key in (
                ("dedupe_key", lead.dedupe_key),
                ("mobile_digits", lead.mobile_digits if len(lead.mobile_digits) >= 6 else ""),
                ("email", lead.email if "@" in lead.email else ""),
            ):
                if key[1]:
                    batch_originals.setdefault(key, lead)
        how, rule = "manual", None
        if lead.owner_id is None:
            dup_owner = getattr(original, "owner", None)
            cust_owner = getattr(lead.duplicate_customer, "owner", None)
            if dup_owner is not None and dup_owner.is_active:
                lead.owner, how = dup_owner, "duplicate"
            elif cust_owner is not None and cust_owner.is_active:
                lead.owner, how = cust_owner, "customer"
            else:
                owner, rule = router.pick(lead)
                lead.owner = owner
                how = rule.strategy if rule is not None else "fallback"
        if lead.owner_id is not None:
            lead.department_id = lead.owner.department_id
            lead.status = Lead.Status.ASSIGNED if lead.status == Lead.Status.NEW else lead.status
            lead.assigned_at = lead.assigned_at or now
            lead.assignment_rule = rule
        routed.append((lead, how, rule))
    router.save()

    # Originals of this batch first, so duplicates of them can point at saved rows.
    firsts = [lead for lead in leads if lead.duplicate_of is None]
    repeats = [lead for lead in leads if lead.duplicate_of is not None]
    try:
        with transaction.atomic():
            Lead.objects.bulk_create(firsts, batch_size=batch_size)
            for lead in repeats:
                lead.duplicate_of_id = lead.duplicate_of.pk
            Lead.objects.bulk_create(repeats, batch_size=batch_size)
            record_created_history(firsts + repeats, by=by)
    except IntegrityError as exc:
        if "sales_lead_unique_original" in str(exc) or "dedupe_key" in str(exc):
            raise ServiceError(
                _("A lead with one of these companies was created meanwhile; check again."),
                field="company",
            ) from None
        raise
    events = []
    for lead, how, rule in routed:
        events.append(
            LeadEvent(
                lead=lead,
                kind=LeadEvent.Kind.CREATED,
                actor=by,
                at=now,
                payload={"source": lead.source, "import": True},
            )
        )
        if lead.duplicate_of_id or lead.duplicate_customer_id:
            events.append(
                LeadEvent(
                    lead=lead,
                    kind=LeadEvent.Kind.DUPLICATE,
                    actor=by,
                    at=now,
                    payload={"lead": lead.duplicate_of_id, "customer": lead.duplicate_customer_id},
                )
            )
        if lead.owner_id is not None:
            events.append(
                LeadEvent(
                    lead=lead,
                    kind=LeadEvent.Kind.ASSIGNED,
                    actor=by,
                    at=now,
                    payload={"owner": lead.owner_id, "how": how, "rule": getattr(rule, "pk", None)},
                )
            )
    LeadEvent.objects.bulk_create(events, batch_size=batch_size)
    if notify_owners:
        per_owner: dict[int, list[Lead]] = defaultdict(list)
        for lead in leads:
            if lead.owner_id and (by is None or lead.owner_id != by.pk):
                per_owner[lead.owner_id].append(lead)
        for group in per_owner.values():
            owner = group[0].owner
            if len(group) == 1:
                notify.send(
                    owner,
                    "sales.lead_assigned",
                    group[0],
                    actor=by,
                    message=_("New lead for you: %(lead)s") % {"lead": group[0]},
                )
            else:
                from django.urls import reverse

                notify.send(
                    owner,
                    "sales.lead_assigned",
                    None,
                    actor=by,
                    url=reverse("sales:lead-list") + "?owner=me&status=assigned",
                    message=_("%(n)s new leads for you.") % {"n": len(group)},
                )
    return leads
