"""Demo data of the sales app (`seed_demo` discovers this package): one module per area."""

from . import contracts, deals, leads  # noqa: F401
