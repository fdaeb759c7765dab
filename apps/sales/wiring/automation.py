"""Open leads, opportunities, contracts, payments and invoices to automation rules
(DESIGN §4.3; apps/customers/automation.py is the pattern).

Only the fields listed here (and each model's custom fields) are visible to rule conditions,
message templates ({contract.number}), "set field" and webhook payloads. Rule actions write
through the sales services as the system (by=None), so every invariant and history row applies.
The services call `record_changed` after their writes (see docs/automation.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.dateparse import parse_date, parse_datetime

from apps.studio.automation import ModelSpec, register_model

LEAD_FIELDS = [
    "company",
    "contact_name",
    "title",
    "mobile",
    "phone",
    "email",
    "source",
    "channel",
    "campaign",
    "province",
    "city",
    "territory",
    "industry",
    "status",
    "owner",
    "department",
    "created_at",
    "assigned_at",
    "contacted_at",
    "last_contacted_at",
    "qualified_at",
    "converted_at",
    "converted_customer",
]
LEAD_SETTABLE = ["source", "channel", "industry", "province", "city", "description"]
OPPORTUNITY_FIELDS = [
    "name",
    "customer",
    "contact",
    "campaign",
    "amount",
    "pipeline",
    "stage",
    "probability",
    "expected_close_date",
    "status",
    "lost_reason",
    "owner",
    "department",
    "created_at",
    "stage_changed_at",
    "last_activity_at",
    "closed_at",
]
OPPORTUNITY_SETTABLE = ["name", "expected_close_date", "description"]
CONTRACT_FIELDS = [
    "number",
    "title",
    "customer",
    "opportunity",
    "amount",
    "status",
    "delivery_status",
    "signed_date",
    "start_date",
    "end_date",
    "received_amount",
    "invoiced_amount",
    "owner",
    "department",
    "created_at",
]
CONTRACT_SETTABLE = ["title", "signed_date", "start_date", "end_date", "terms"]
PAYMENT_FIELDS = ["contract", "plan", "amount", "received_at", "method", "reference", "recorded_by"]
INVOICE_FIELDS = [
    "contract",
    "kind",
    "title",
    "amount",
    "status",
    "invoice_number",
    "issued_date",
    "requested_by",
    "issued_by",
    "created_at",
]


def coerce(model, data):
    """ "Set field" hands over JSON values: turn ISO strings into dates / date-times, which the
    services compare with other dates."""
    out = dict(data)
    for name, value in data.items():
        if not isinstance(value, str) or name == "custom":
            continue
        field = next((f for f in model._meta.concrete_fields if f.name == name), None)
        if isinstance(field, models.DateTimeField):
            out[name] = parse_datetime(value) or value
        elif isinstance(field, models.DateField):
            out[name] = parse_date(value[:10]) or value
    return out


def _lead_update(lead, data):
    from ..models import Lead
    from ..services.leads import lead_update

    return lead_update(lead=lead, by=None, data=coerce(Lead, data))


def _lead_assign(lead, owner):
    from ..services.leads import lead_assign

    return lead_assign(lead=lead, owner=owner, by=None)


def _lead_territory_owner(lead):
    from apps.customers.services.territories import territory_for_province

    match = territory_for_province(lead.province)
    owner = match.owner if match is not None else None
    return owner if owner is not None and owner.is_active else None


def _opportunity_update(opp, data):
    from ..models import Opportunity
    from ..services.deals import opportunity_update

    return opportunity_update(opportunity=opp, by=None, data=coerce(Opportunity, data))


def _opportunity_assign(opp, owner):
    from ..services.deals import opportunity_assign

    return opportunity_assign(opportunity=opp, owner=owner, by=None)


def _contract_update(contract, data):
    from ..models import Contract
    from ..services.contracts import contract_update

    return contract_update(contract=contract, by=None, data=coerce(Contract, data))


def connect() -> None:
    from ..models import Contract, Invoice, Lead, Opportunity, Payment

    register_model(
        ModelSpec(
            model=Lead,
            name="lead",
            fields=LEAD_FIELDS,
            owner_field="owner",
            update=_lead_update,
            assign=_lead_assign,
            territory_owner=_lead_territory_owner,
            settable=LEAD_SETTABLE,
        )
    )
    register_model(
        ModelSpec(
            model=Opportunity,
            name="opportunity",
            fields=OPPORTUNITY_FIELDS,
            owner_field="owner",
            update=_opportunity_update,
            assign=_opportunity_assign,
            settable=OPPORTUNITY_SETTABLE,
        )
    )
    register_model(
        ModelSpec(
            model=Contract,
            name="contract",
            fields=CONTRACT_FIELDS,
            owner_field="owner",
            update=_contract_update,
            settable=CONTRACT_SETTABLE,
        )
    )
    register_model(ModelSpec(model=Payment, name="payment", fields=PAYMENT_FIELDS))
    register_model(ModelSpec(model=Invoice, name="invoice", fields=INVOICE_FIELDS))
