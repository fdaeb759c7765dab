"""Every write with business meaning in the customers app (DESIGN §1, STYLE).

Keyword-only functions taking the acting user as `by` (None: the system itself — jobs, demo
data); each is atomic, locks what it changes, records a `CustomerEvent`/`TicketEvent` row and
notifies through `apps.notify` (external channels after commit). Business refusals raise
`apps.org.errors.ServiceError` (HTTP 400) or `ConflictError` (409, e.g. a pool customer someone
else claimed first); bad field values raise Django's `ValidationError` with field errors;
missing permissions raise `PermissionDenied`. Views, the API, admin actions, imports and the
Celery jobs all call these.
"""

from apps.org.errors import ConflictError, ServiceError

from .contacts import (
    contact_bulk_import,
    contact_create,
    contact_delete,
    contact_update,
    follow_up_delete,
    follow_up_log,
    follow_up_remind_due,
    follow_up_update,
)
from .customers import (
    REASONS,
    DuplicateCandidate,
    customer_bulk_import,
    customer_check_duplicates,
    customer_create,
    customer_delete,
    customer_set_tags,
    customer_tag,
    customer_update,
)
from .merge import customer_merge, customer_relations
from .pool import (
    claim_limit_for,
    customer_assign,
    customer_claim,
    customer_release,
    owned_count,
    pool_recycle,
)
from .territories import (
    TerritoryMatch,
    territory_delete,
    territory_for_province,
    territory_map,
    territory_save,
)
from .tickets import (
    sla_due,
    sla_hours,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_delete,
    ticket_flag_overdue,
    ticket_rate,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
    ticket_update,
)

__all__ = [
    "REASONS",
    "ConflictError",
    "DuplicateCandidate",
    "ServiceError",
    "TerritoryMatch",
    "claim_limit_for",
    "contact_bulk_import",
    "contact_create",
    "contact_delete",
    "contact_update",
    "customer_assign",
    "customer_bulk_import",
    "customer_check_duplicates",
    "customer_claim",
    "customer_create",
    "customer_delete",
    "customer_merge",
    "customer_relations",
    "customer_release",
    "customer_set_tags",
    "customer_tag",
    "customer_update",
    "follow_up_delete",
    "follow_up_log",
    "follow_up_remind_due",
    "follow_up_update",
    "owned_count",
    "pool_recycle",
    "sla_due",
    "sla_hours",
    "territory_delete",
    "territory_for_province",
    "territory_map",
    "territory_save",
    "ticket_assign",
    "ticket_close",
    "ticket_create",
    "ticket_delete",
    "ticket_flag_overdue",
    "ticket_rate",
    "ticket_reopen",
    "ticket_resolve",
    "ticket_start",
    "ticket_update",
]
