"""Sales models (DESIGN §2 CRM, leads to cash): one module per area, re-exported here."""

from ._common import ZERO, EventBase
from .contracts import Contract, ContractEvent, Invoice, Payment, PaymentPlan
from .deals import (
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Product,
    ProductCategory,
    Quote,
    QuoteEvent,
    QuoteLine,
    Stage,
    StageChange,
)
from .leads import (
    AssignmentRule,
    Campaign,
    Channel,
    Lead,
    LeadEvent,
    LeadForm,
    LeadSource,
    SalesSettings,
)

__all__ = [
    "ZERO",
    "AssignmentRule",
    "Campaign",
    "Channel",
    "Contract",
    "ContractEvent",
    "EventBase",
    "Invoice",
    "Lead",
    "LeadEvent",
    "LeadForm",
    "LeadSource",
    "Opportunity",
    "OpportunityEvent",
    "Payment",
    "PaymentPlan",
    "Pipeline",
    "Product",
    "ProductCategory",
    "Quote",
    "QuoteEvent",
    "QuoteLine",
    "SalesSettings",
    "Stage",
    "StageChange",
]
