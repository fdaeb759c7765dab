"""Start-up wiring of the sales app: one module per area."""

from . import automation, contracts, deals, leads


def connect() -> None:
    for module in (leads, deals, contracts, automation):
        module.connect()
