"""Lead conversion (`POST leads/{id}/convert/`): customer + contact + optional opportunity in
one atomic step.

* Customer: the one given (`customer`, which the user may change), else the customer the lead
  was flagged as duplicating or that has the lead's normalised company name — if the user may
  change it —, else a new customer (source "converted lead", owner = the lead's owner) through
  `apps.customers.services.customer_create`, so the anti-collision rules hold: a same-named
  customer the user cannot see is refused with its owner named.
* Contact: the customer's contact with the lead's mobile or e-mail, else a new one from the
  lead's contact fields (none when the lead has no contact name).
* Opportunity (optional): pipeline (default: the default pipeline), stage (default: the
  pipeline's first open stage), amount, name, expected close date; an "created"
  OpportunityEvent and the first StageChange row are written with it.
* Custom fields: a lead's custom value is copied to each new record whose model has a custom
  field with the same key.

Everything runs in one transaction: a failure anywhere (a refused customer, a missing
permission, a bad stage) leaves no customer, contact, opportunity or lead change behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers import services as customer_services
from apps.customers.models import Contact, Customer
from apps.customers.normalize import digits
from apps.customers.services._common import require
from apps.org.errors import ConflictError, ServiceError
from apps.studio.automation import record_changed
from apps.studio.registry import definitions_for

from ..models import (
    ZERO,
    Lead,
    LeadEvent,
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Stage,
    StageChange,
)

SOURCE_MAP = {
    "web_form": "website",
    "referral": "referral",
    "exhibition": "exhibition",
    "cold_call": "cold_call",
    "advertising": "advertising",
    "partner": "partner",
}


def mapped_custom(values: Mapping | None, model) -> dict:
    """The lead's custom values whose key is also a custom field of `model`."""
    if not values:
        return {}
    keys = {d.key for d in definitions_for(model)}
    return {k: v for k, v in values.items() if k in keys and v not in (None, "", [])}


def _customer_for(lead: Lead, by, customer) -> tuple[Customer, bool]:
    """(customer, created)."""
    if customer is not None:
        if by is not None and not by.has_perm("customers.change_customer", customer):
            raise ServiceError(_("Choose a customer you may change."), field="customer")
        return customer, False
    candidates = []
    if lead.duplicate_customer_id:
        candidates.append(lead.duplicate_customer)
    if lead.company_normalized:
        same = Customer.objects.filter(name_normalized=lead.company_normalized).first()
        if same is not None:
            candidates.append(same)
    for candidate in candidates:
        if by is None or by.has_perm("customers.change_customer", candidate):
            return candidate, False
    if not lead.company:
        raise ServiceError(
            _("The lead has no company: give one, or choose an existing customer."),
            field="customer",
        )
    owner = lead.owner or by
    data = {
        "name": lead.company,
        "industry": lead.industry,
        "source": SOURCE_MAP.get(lead.source, "lead"),
        "province": lead.province,
        "city": lead.city,
        "phone": lead.phone or lead.mobile,
        "email": lead.email,
        "description": lead.description,
        "custom": mapped_custom(lead.custom, Customer),
    }
    try:
        created = customer_services.customer_create(by=by, data=data, owner=owner)
    except ServiceError as exc:
        if exc.code == "duplicate":
            raise ServiceError(exc.message, field="customer", code="duplicate") from None
        raise
    return created, True


def _contact_for(lead: Lead, by, customer: Customer, created_customer: bool):
    """(contact or None, created)."""
    if not created_customer:
        q = Q(pk__in=[])
        phone = digits(lead.mobile)
        if phone:
            q |= Q(mobile=lead.mobile) | Q(mobile=phone)
        if lead.email:
            q |= Q(email=lead.email)
        existing = Contact.objects.filter(q, customer=customer).first()
        if existing is not None:
            return existing, False
    if not lead.contact_name:
        return None, False
    data = {
        "name": lead.contact_name,
        "title": lead.title,
        "mobile": lead.mobile,
        "phone": lead.phone,
        "email": lead.email,
        "wechat": lead.wechat,
        "custom": mapped_custom(lead.custom, Contact),
    }
    return customer_services.contact_create(customer=customer, by=by, data=data), True


def _opportunity(lead: Lead, by, customer, contact, spec: Mapping) -> Opportunity:
    require(by, "sales.add_opportunity")
    pipeline = spec.get("pipeline")
    stage = spec.get("stage")
    if stage is not None and not isinstance(stage, Stage):
        stage = Stage.objects.select_related("pipeline").filter(pk=stage).first()
        if stage is None:
            raise ServiceError(_("No such stage."), field="stage")
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        pipeline = Pipeline.objects.filter(pk=pipeline, is_active=True).first()
        if pipeline is None:
            raise ServiceError(_("No such pipeline."), field="pipeline")
    if pipeline is None:
        pipeline = (
            stage.pipeline
            if stage is not None
            else (
                Pipeline.objects.filter(is_active=True, is_default=True).first()
                or Pipeline.objects.filter(is_active=True).order_by("order", "id").first()
            )
        )
    if pipeline is None:
        raise ServiceError(_("Set up a sales pipeline first."), field="pipeline")
    if stage is None:
        stage = pipeline.stages.filter(is_won=False, is_lost=False).order_by("order", "id").first()
        if stage is None:
            raise ServiceError(_("The pipeline has no open stage."), field="stage")
    if stage.pipeline_id != pipeline.pk:
        raise ServiceError(_("The stage belongs to another pipeline."), field="stage")
    if stage.is_won or stage.is_lost:
        raise ServiceError(_("A new opportunity starts in an open stage."), field="stage")
    try:
        amount = Decimal(str(spec.get("amount") or ZERO)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ServiceError(_("Enter a number."), field="amount") from None
    if amount < 0:
        raise ServiceError(_("The amount cannot be negative."), field="amount")
    close = spec.get("expected_close_date")
    if close is not None and not isinstance(close, dt.date):
        raise ServiceError(_("Enter a valid date."), field="expected_close_date")
    name = (spec.get("name") or "").strip() or f"{customer.name} · {lead.contact_name or lead}"
    owner = lead.owner or by
    now = timezone.now()
    opp = Opportunity.objects.create(
        name=name[:200],
        customer=customer,
        contact=contact,
        campaign=lead.campaign,
        lead=lead,
        amount=amount,
        pipeline=pipeline,
        stage=stage,
        probability=stage.probability,
        expected_close_date=close,
        owner=owner,
        department_id=getattr(owner, "department_id", None),
        created_by=by,
        created_at=now,
        stage_changed_at=now,
        last_activity_at=now,
        custom=_valid_custom(Opportunity, mapped_custom(lead.custom, Opportunity)),
    )
    OpportunityEvent.objects.create(
        opportunity=opp,
        kind=OpportunityEvent.Kind.CREATED,
        actor=by,
        payload={"lead": lead.pk, "amount": str(amount), "stage": stage.pk},
    )
    StageChange.objects.create(opportunity=opp, from_stage=None, to_stage=stage, actor=by, at=now)
    record_changed(opp, created=True, by=by)
    return opp


def _valid_custom(model, values: dict) -> dict:
    from apps.studio.validation import validate_custom_or_raise

    return validate_custom_or_raise(model, values, instance=None)


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    by,
    customer: Customer | None = None,
    opportunity: Mapping | None = None,
) -> tuple[Customer, Contact | None, Opportunity | None]:
    """Convert an open lead (see the module docstring). `opportunity=None`: no opportunity;
    a mapping (possibly empty) creates one from its `pipeline`, `stage`, `amount`, `name`,
    `expected_close_date`. Needs `sales.convert_lead` and change on the lead, plus what the
    records created need (`customers.add_customer`, `customers.add_contact`,
    `sales.add_opportunity`)."""
    if by is not None:
        if not by.has_perm("sales.change_lead", lead):
            raise PermissionDenied
        require(by, "sales.convert_lead")
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner", "campaign")
        .get(pk=lead.pk)
    )
    if lead.status == Lead.Status.CONVERTED:
        raise ConflictError(_("This lead was converted already."))
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ConflictError(_("A disqualified lead cannot be converted; reopen it first."))
    cust, created_customer = _customer_for(lead, by, customer)
    contact, created_contact = _contact_for(lead, by, cust, created_customer)
    opp = None
    if opportunity is not None:
        opp = _opportunity(lead, by, cust, contact, opportunity)
    now = timezone.now()
    old_status = lead.status
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = now
    lead.converted_customer = cust
    lead.converted_contact = contact
    lead.converted_opportunity = opp
    fields = [
        "status",
        "converted_at",
        "converted_customer",
        "converted_contact",
        "converted_opportunity",
        "updated_at",
    ]
    if lead.contacted_at is None:
        lead.contacted_at = lead.last_contacted_at = now
        fields += ["contacted_at", "last_contacted_at"]
    lead.save(update_fields=fields)
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.CONVERTED,
        actor=by,
        at=now,
        payload={
            "customer": cust.pk,
            "customer_created": created_customer,
            "contact": getattr(contact, "pk", None),
            "contact_created": created_contact,
            "opportunity": getattr(opp, "pk", None),
        },
    )
    record_changed(lead, changes={"status": [old_status, lead.status]}, by=by)
    return cust, contact, opp
