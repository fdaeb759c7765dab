"""Customers app models (DESIGN §2 CRM): one module per area, re-exported here."""

from .contact import Contact, FollowUp
from .customer import Customer, CustomerEvent, Industry, Level, Source, Tag
from .rules import (
    DEFAULT_SLA_HOURS,
    PROVINCE_CHOICES,
    PROVINCES,
    ClaimLimit,
    PoolRule,
    Priority,
    SLARule,
    Territory,
)
from .ticket import Ticket, TicketEvent

__all__ = [
    "DEFAULT_SLA_HOURS",
    "PROVINCES",
    "PROVINCE_CHOICES",
    "ClaimLimit",
    "Contact",
    "Customer",
    "CustomerEvent",
    "FollowUp",
    "Industry",
    "Level",
    "PoolRule",
    "Priority",
    "SLARule",
    "Source",
    "Tag",
    "Territory",
    "Ticket",
    "TicketEvent",
]
