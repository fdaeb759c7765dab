"""Admin of the sales app: one module per area."""

from . import contracts, deals, leads  # noqa: F401
