"""Leads (线索): capture with cleaning, manual assignment, the status flow, escalation.

Every write with business meaning on a lead is one of these keyword-only functions taking the
acting user as `by` (None: the system itself — the public web form, jobs, demo data). Each is
atomic, locks what it changes, records `LeadEvent` rows and notifies through `apps.notify`.
Business refusals raise `ServiceError` (HTTP 400) or `ConflictError` (409); bad field values
raise Django's `ValidationError` with field errors; missing permissions `PermissionDenied`.

Conversion is in `leads_convert`, routing by assignment rules in `leads_assign`, campaigns in
`leads_campaigns`; the names are re-exported here so callers import one module.

Cleaning (DESIGN §2): a new lead is compared with the existing leads and customers by
normalised company name, mobile digits and e-mail. A match is *flagged and linked*
(`duplicate_of` / `duplicate_customer`, a "duplicate" event, the original's owner told), never
silently created twice as a second original: `Lead.dedupe_key` is unique among originals, so
when the same form is posted twice at once the loser's insert fails on the constraint and it is
saved again as a duplicate of the winner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.customers.models import Contact, Customer
from apps.customers.normalize import digits, normalize_name
from apps.customers.services._common import apply, refuse_restricted, require
from apps.customers.services.territories import territory_for_province
from apps.org.errors import ConflictError, ServiceError
from apps.studio.automation import record_changed
from apps.studio.validation import validate_custom_or_raise

from ..models import Lead, LeadEvent, LeadSource, SalesSettings

User = get_user_model()

# Fields a create or an update may set directly (owner moves through assignment).
LEAD_FIELDS = (
    "company",
    "contact_name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "source",
    "channel",
    "campaign",
    "form",
    "province",
    "city",
    "industry",
    "description",
)
# Fields a public web form may fill (never owner, campaign, source: the form key decides).
PUBLIC_FIELDS = (
    "company",
    "contact_name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "industry",
    "description",
)
_DERIVED = [
    "company_normalized",
    "company_pinyin",
    "company_initials",
    "mobile_digits",
    "dedupe_key",
    "custom",
    "owner",
    "department",
    "territory",
    "campaign",
    "form",
    "created_by",
    "duplicate_of",
    "duplicate_customer",
    "converted_customer",
    "converted_contact",
    "converted_opportunity",
    "assignment_rule",
]
OPEN = (Lead.Status.NEW, Lead.Status.ASSIGNED, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)
_UNSET = object()


def record(lead: Lead, kind: str, by, /, **payload) -> LeadEvent:
    return LeadEvent.objects.create(lead=lead, kind=kind, actor=by, payload=payload)


def _user_or_error(value, field: str = "owner"):
    if value is None or isinstance(value, User):
        if value is not None and not value.is_active:
            raise ServiceError(_("Choose an active user."), field=field)
        return value
    user = User.objects.filter(pk=value, is_active=True).first()
    if user is None:
        raise ServiceError(_("Choose an active user."), field=field)
    return user


# --- cleaning ------------------------------------------------------------------------------


def lead_find_duplicates(
    *, company: str = "", mobile: str = "", email: str = "", exclude_pk=None
) -> tuple[Lead | None, Customer | None]:
    """The original lead and the customer a new lead with these details duplicates (or None).

    Leads: the same normalised company, else the same mobile digits, else the same e-mail,
    among originals (a duplicate links to the first lead, never to another duplicate).
    Customers: the same normalised name, phone digits or e-mail, or a contact with that mobile
    or e-mail. Two indexed queries at most each.
    """
    key = normalize_name(company or "")
    phone = digits(mobile or "")
    mail = (email or "").strip().lower()
    lead_q = Q(pk__in=[])
    if key:
        lead_q |= Q(dedupe_key=f"c:{key}"[:200])
    if len(phone) >= 6:
        lead_q |= Q(mobile_digits=phone)
    if mail and "@" in mail:
        lead_q |= Q(email=mail)
    found_lead = None
    if key or len(phone) >= 6 or "@" in mail:
        qs = Lead.objects.filter(lead_q, duplicate_of__isnull=True).select_related("owner")
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        found_lead = qs.order_by("created_at", "pk").first()
    cust_q = Q(pk__in=[])
    if key:
        cust_q |= Q(name_normalized=key)
    if len(phone) >= 6:
        cust_q |= Q(phone_digits=phone)
    if mail and "@" in mail:
        cust_q |= Q(email=mail)
    found_customer = None
    if key or len(phone) >= 6 or "@" in mail:
        found_customer = Customer.objects.filter(cust_q).select_related("owner").first()
        if found_customer is None and (len(phone) >= 6 or "@" in mail):
            contact_q = Q(pk__in=[])
            if len(phone) >= 6:
                contact_q |= Q(mobile=phone) | Q(mobile=(mobile or "").strip())
            if "@" in mail:
                contact_q |= Q(email=mail)
            contact = Contact.objects.filter(contact_q).select_related("customer__owner").first()
            found_customer = contact.customer if contact is not None else None
    return found_lead, found_customer


def _validate(lead: Lead) -> None:
    lead.full_clean(exclude=_DERIVED, validate_constraints=False)
    errors = {}
    if not (lead.company or lead.contact_name):
        errors["company"] = [_("Give the company or the contact's name.")]
    if not (lead.mobile or lead.phone or lead.email):
        errors["mobile"] = [_("Give a mobile, a phone number or an e-mail address.")]
    if lead.mobile and len(digits(lead.mobile)) < 6:
        errors["mobile"] = [_("Enter a valid mobile number.")]
    if errors:
        raise ValidationError(errors)


def _fill_territory(lead: Lead) -> None:
    match = territory_for_province(lead.province)
    lead.territory = match.territory if match else None


def _save_original_or_duplicate(lead: Lead) -> bool:
    """Insert `lead`; if a concurrent insert took its duplicate key first, save it as that
    lead's duplicate instead. Returns True when it became a duplicate through the race."""
    try:
        with transaction.atomic():
            lead.save()
        return False
    except IntegrityError as exc:
        text = str(exc)
        if "sales_lead_unique_original" not in text and "dedupe_key" not in text:
            raise
    # READ COMMITTED: the winner has committed (our insert waited for it), so we see it.
    winner = (
        Lead.objects.select_related("owner")
        .filter(dedupe_key=lead.dedupe_key, duplicate_of__isnull=True)
        .first()
    )
    if winner is None:  # the winner rolled back meanwhile: try once more as an original
        lead.save()
        return False
    lead.pk = None
    lead.duplicate_of = winner
    lead.save()
    return True


# --- capture -------------------------------------------------------------------------------


@transaction.atomic
def lead_create(*, by, data: Mapping, owner=_UNSET, notify_owner: bool = True) -> Lead:
    """Capture a lead (page, API, import, web form).

    `owner`: a user (someone else than `by` needs `sales.assign_lead`), or left out / None to
    route it: a duplicate goes to the owner of the lead or customer it duplicates, everything
    else through the assignment rules (`leads_assign.lead_route`), then the fallback owner.
    The new owner is notified.
    """
    from .leads_assign import lead_route

    require(by, "sales.add_lead")
    names = [k for k in data if k in LEAD_FIELDS or k == "custom"]
    refuse_restricted(by, Lead, names)
    if owner is _UNSET:
        owner = data.get("owner")
    owner = _user_or_error(owner)
    if owner is not None and by is not None and owner.pk != by.pk:
        require(by, "sales.assign_lead")
    now = timezone.now()
    lead = Lead(created_by=by, created_at=now)
    apply(lead, data, LEAD_FIELDS)
    if not lead.source:
        lead.source = LeadSource.MANUAL
    if lead.campaign_id and not lead.channel:
        lead.channel = lead.campaign.channel
    _fill_territory(lead)
    lead.custom = validate_custom_or_raise(Lead, data.get("custom"), instance=None)
    lead.refresh_keys()
    _validate(lead)
    dup_lead, dup_customer = lead_find_duplicates(
        company=lead.company, mobile=lead.mobile, email=lead.email
    )
    lead.duplicate_of = dup_lead
    lead.duplicate_customer = dup_customer
    raced = _save_original_or_duplicate(lead)
    lead._automation_new = True  # the routing below is part of the "created" event
    dup_lead = lead.duplicate_of
    record(lead, LeadEvent.Kind.CREATED, by, source=lead.source, campaign=lead.campaign_id)
    if dup_lead is not None or dup_customer is not None:
        record(
            lead,
            LeadEvent.Kind.DUPLICATE,
            by,
            lead=getattr(dup_lead, "pk", None),
            customer=getattr(dup_customer, "pk", None),
            race=raced,
        )
    if owner is None:
        # A repeat inquiry stays with whoever works the account already (no 撞单).
        if dup_lead is not None and dup_lead.owner_id and dup_lead.owner.is_active:
            owner = dup_lead.owner
        elif dup_customer is not None and dup_customer.owner_id and dup_customer.owner.is_active:
            owner = dup_customer.owner
    if owner is not None:
        _give(lead, owner, by, now=now, notify_owner=notify_owner, how="manual")
    else:
        lead_route(lead=lead, by=by, now=now, notify_owner=notify_owner)
    if dup_lead is not None and dup_lead.owner_id and dup_lead.owner_id != lead.owner_id:
        notify.send(
            dup_lead.owner,
            "sales.lead_duplicate",
            lead,
            message=_("A duplicate of your lead %(lead)s came in.") % {"lead": dup_lead},
        )
    lead._automation_new = False
    record_changed(lead, created=True, by=by)
    return lead


def _give(lead: Lead, owner, by, *, now=None, notify_owner=True, how="manual", rule=None, note=""):
    """Set the owner of a saved lead (no permission check: callers decide)."""
    now = now or timezone.now()
    previous, old_status = lead.owner_id, lead.status
    lead.owner = owner
    lead.department_id = owner.department_id if owner is not None else lead.department_id
    lead.assignment_rule = rule
    lead.assigned_at = now if owner is not None else None
    fields = ["owner", "department", "assignment_rule", "assigned_at", "updated_at"]
    if owner is not None and lead.status == Lead.Status.NEW:
        lead.status = Lead.Status.ASSIGNED
        fields.append("status")
    if lead.escalated_at is not None:
        lead.escalated_at = None  # a new owner gets a fresh contact window
        fields.append("escalated_at")
    lead.save(update_fields=fields)
    record(
        lead,
        LeadEvent.Kind.ASSIGNED,
        by,
        owner=getattr(owner, "pk", None),
        previous=previous,
        how=how,
        rule=getattr(rule, "pk", None),
        **({"note": note[:300]} if note else {}),
    )
    if not getattr(lead, "_automation_new", False):
        changes = {"owner": [previous, getattr(owner, "pk", None)]}
        if lead.status != old_status:
            changes["status"] = [old_status, lead.status]
        record_changed(lead, changes=changes, by=by)
    if notify_owner and owner is not None and (by is None or owner.pk != by.pk):
        notify.send(
            owner,
            "sales.lead_assigned",
            lead,
            actor=by,
            message=_("New lead for you: %(lead)s") % {"lead": lead},
        )


# --- changes -------------------------------------------------------------------------------


def _lock(lead: Lead) -> Lead:
    return Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)


@transaction.atomic
def lead_update(*, lead: Lead, by, data: Mapping) -> Lead:
    """Change a lead's fields (not its owner or status: see assign and the status actions)."""
    require(by, "sales.change_lead", lead)
    lead = _lock(lead)
    if lead.status == Lead.Status.CONVERTED:
        raise ServiceError(_("A converted lead cannot be changed."))
    names = [k for k in data if k in LEAD_FIELDS or k == "custom"]
    refuse_restricted(by, Lead, names, lead)
    changes = apply(lead, data, LEAD_FIELDS)
    if "province" in changes:
        before = lead.territory_id
        _fill_territory(lead)
        if lead.territory_id != before:
            changes["territory"] = [before, lead.territory_id]
    if "custom" in data:
        clean = validate_custom_or_raise(Lead, data["custom"], instance=lead, partial=True)
        if clean != lead.custom:
            changes["custom"] = sorted(
                k
                for k in set(clean) | set(lead.custom or {})
                if clean.get(k) != (lead.custom or {}).get(k)
            )
            lead.custom = clean
    if not changes:
        return lead
    lead.refresh_keys()
    _validate(lead)
    fields = [Lead._meta.get_field(f).name for f in changes] + ["updated_at"]
    try:
        with transaction.atomic():
            lead.save(update_fields=sorted(set(fields)))
    except IntegrityError as exc:
        if "sales_lead_unique_original" in str(exc) or "dedupe_key" in str(exc):
            raise ServiceError(
                _(
                    "Another lead has the same company, mobile or e-mail; mark this one as its "
                    "duplicate instead."
                ),
                field="company" if lead.company else "mobile",
            ) from None
        raise
    record(lead, LeadEvent.Kind.UPDATED, by, changes=changes)
    record_changed(lead, changes=changes, by=by)
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, owner, by, note: str = "") -> Lead:
    """Give an open lead to `owner`. Needs change on the lead; giving it to someone else than
    oneself needs `sales.assign_lead`. The new owner is notified."""
    require(by, "sales.change_lead", lead)
    owner = _user_or_error(owner)
    if owner is None:
        raise ServiceError(_("Choose the new owner."), field="owner")
    if by is not None and owner.pk != by.pk:
        require(by, "sales.assign_lead")
    lead = _lock(lead)
    if lead.status not in OPEN:
        raise ConflictError(_("Only an open lead can be assigned."))
    if lead.owner_id == owner.pk:
        return lead
    _give(lead, owner, by, how="manual", note=note)
    return lead


@transaction.atomic
def lead_bulk_assign(*, leads, owner, by) -> list[Lead]:
    """Give several leads to one owner (all or none)."""
    return [lead_assign(lead=lead, owner=owner, by=by) for lead in leads]


@transaction.atomic
def lead_contact(*, lead: Lead, by, note: str = "", at: dt.datetime | None = None) -> Lead:
    """Record that someone reached the lead (call, visit, message): new/assigned → contacted.
    An unowned lead becomes the contacting user's."""
    require(by, "sales.change_lead", lead)
    lead = _lock(lead)
    if lead.status not in OPEN:
        raise ConflictError(_("This lead is closed."))
    at = at or timezone.now()
    if lead.owner_id is None and by is not None:
        _give(lead, by, by, how="contacted")
    fields = ["last_contacted_at", "updated_at"]
    lead.last_contacted_at = at
    if lead.contacted_at is None:
        lead.contacted_at = at
        fields.append("contacted_at")
    old_status = lead.status
    if lead.status in (Lead.Status.NEW, Lead.Status.ASSIGNED):
        lead.status = Lead.Status.CONTACTED
        fields.append("status")
    lead.save(update_fields=fields)
    record(lead, LeadEvent.Kind.CONTACTED, by, note=note[:1000])
    changes = {"last_contacted_at": [None, at]}
    if lead.status != old_status:
        changes["status"] = [old_status, lead.status]
    record_changed(lead, changes=changes, by=by)
    return lead


@transaction.atomic
def lead_qualify(*, lead: Lead, by, note: str = "") -> Lead:
    """Mark an open lead as qualified (a real prospect, ready to convert)."""
    require(by, "sales.change_lead", lead)
    lead = _lock(lead)
    if lead.status not in OPEN:
        raise ConflictError(_("This lead is closed."))
    if lead.status == Lead.Status.QUALIFIED:
        return lead
    now = timezone.now()
    old_status = lead.status
    lead.status = Lead.Status.QUALIFIED
    lead.qualified_at = now
    fields = ["status", "qualified_at", "updated_at"]
    if lead.contacted_at is None:
        lead.contacted_at = lead.last_contacted_at = now
        fields += ["contacted_at", "last_contacted_at"]
    lead.save(update_fields=fields)
    record(lead, LeadEvent.Kind.QUALIFIED, by, note=note[:1000])
    record_changed(lead, changes={"status": [old_status, lead.status]}, by=by)
    return lead


@transaction.atomic
def lead_disqualify(*, lead: Lead, by, reason: str) -> Lead:
    """Close an open lead as not a prospect; the reason is required."""
    require(by, "sales.change_lead", lead)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason."), field="reason")
    lead = _lock(lead)
    if lead.status not in OPEN:
        raise ConflictError(_("This lead is closed."))
    old_status = lead.status
    lead.status = Lead.Status.DISQUALIFIED
    lead.disqualified_reason = reason[:300]
    lead.save(update_fields=["status", "disqualified_reason", "updated_at"])
    record(lead, LeadEvent.Kind.DISQUALIFIED, by, reason=lead.disqualified_reason)
    record_changed(lead, changes={"status": [old_status, lead.status]}, by=by)
    return lead


@transaction.atomic
def lead_reopen(*, lead: Lead, by) -> Lead:
    """Take a disqualified lead back into work (assigned, or new without an owner)."""
    require(by, "sales.change_lead", lead)
    lead = _lock(lead)
    if lead.status != Lead.Status.DISQUALIFIED:
        raise ConflictError(_("Only a disqualified lead can be reopened."))
    lead.status = Lead.Status.ASSIGNED if lead.owner_id else Lead.Status.NEW
    if lead.contacted_at:
        lead.status = Lead.Status.CONTACTED
    lead.disqualified_reason = ""
    lead.save(update_fields=["status", "disqualified_reason", "updated_at"])
    record(lead, LeadEvent.Kind.UPDATED, by, reopened=True)
    record_changed(lead, changes={"status": [Lead.Status.DISQUALIFIED, lead.status]}, by=by)
    return lead


@transaction.atomic
def lead_delete(*, lead: Lead, by) -> None:
    require(by, "sales.delete_lead", lead)
    lead = _lock(lead)
    if lead.status == Lead.Status.CONVERTED:
        raise ServiceError(_("A converted lead is history of its customer; it is not deleted."))
    lead.delete()


# --- escalation (hourly job) ---------------------------------------------------------------


def _escalation_target(lead: Lead, fallback):
    """Who hears about a lead nobody contacted: the owner's manager, else the head of the
    lead's department, else the fallback owner."""
    owner = lead.owner
    if owner is not None and owner.manager_id and owner.manager.is_active:
        return owner.manager
    department = lead.department
    if department is not None and department.head_id and department.head.is_active:
        if owner is None or department.head_id != owner.pk:
            return department.head
    if fallback is not None and (owner is None or fallback.pk != owner.pk):
        return fallback
    return None


def lead_escalate_stale(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Escalate leads nobody touched in time (`SalesSettings.lead_contact_hours`): unassigned
    ones (created before the cut-off) and assigned ones not contacted since being assigned.
    Idempotent: an escalated lead carries `escalated_at` (cleared when it is reassigned)."""
    now = now or timezone.now()
    settings = SalesSettings.load()
    cutoff = now - dt.timedelta(hours=settings.lead_contact_hours)
    fallback = settings.fallback_owner
    stale = (
        Lead.objects.filter(escalated_at__isnull=True, duplicate_of__isnull=True)
        .filter(
            Q(status=Lead.Status.NEW, created_at__lt=cutoff)
            | Q(status=Lead.Status.ASSIGNED, assigned_at__lt=cutoff)
        )
        .select_related("owner__manager", "department__head")
        .order_by("created_at", "pk")[:limit]
    )
    by_target: dict[int | None, tuple[object, list[Lead]]] = {}
    with transaction.atomic():
        rows = list(stale)
        if not rows:
            return 0
        for lead in rows:
            target = _escalation_target(lead, fallback)
            key = getattr(target, "pk", None)
            by_target.setdefault(key, (target, []))[1].append(lead)
        ids = [lead.pk for lead in rows]
        Lead.objects.filter(pk__in=ids, escalated_at__isnull=True).update(escalated_at=now)
        LeadEvent.objects.bulk_create(
            [
                LeadEvent(
                    lead=lead,
                    kind=LeadEvent.Kind.ESCALATED,
                    at=now,
                    payload={
                        "to": getattr(_escalation_target(lead, fallback), "pk", None),
                        "hours": settings.lead_contact_hours,
                    },
                )
                for lead in rows
            ]
        )
        for target, leads in by_target.values():
            if target is None:
                continue
            if len(leads) <= 5:
                for lead in leads:
                    notify.send(
                        target,
                        "sales.lead_escalated",
                        lead,
                        message=_(
                            "Lead %(lead)s (owner: %(owner)s) was not contacted within %(h)s hours."
                        )
                        % {
                            "lead": lead,
                            "owner": lead.owner or _("nobody"),
                            "h": settings.lead_contact_hours,
                        },
                    )
            else:
                from django.urls import reverse

                notify.send(
                    target,
                    "sales.lead_escalated",
                    None,
                    url=reverse("sales:lead-list") + "?stale=true",
                    message=_("%(n)s leads were not contacted within %(h)s hours.")
                    % {"n": len(leads), "h": settings.lead_contact_hours},
                )
    return len(rows)


def check_can_view(by, lead: Lead) -> None:
    if by is not None and not by.has_perm("sales.view_lead", lead):
        raise PermissionDenied


from .leads_assign import lead_route, rule_pick  # noqa: E402 - re-exported
from .leads_campaigns import (  # noqa: E402 - re-exported
    CampaignStats,
    campaign_create,
    campaign_delete,
    campaign_stats,
    campaign_update,
)
from .leads_convert import lead_convert  # noqa: E402 - re-exported
from .leads_public import public_lead_submit, rate_limited  # noqa: E402 - re-exported

__all__ = [
    "LEAD_FIELDS",
    "PUBLIC_FIELDS",
    "CampaignStats",
    "campaign_create",
    "campaign_delete",
    "campaign_stats",
    "campaign_update",
    "lead_assign",
    "lead_bulk_assign",
    "lead_contact",
    "lead_convert",
    "lead_create",
    "lead_delete",
    "lead_disqualify",
    "lead_escalate_stale",
    "lead_find_duplicates",
    "lead_qualify",
    "lead_reopen",
    "lead_route",
    "lead_update",
    "public_lead_submit",
    "rate_limited",
    "rule_pick",
]
