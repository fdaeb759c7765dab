"""API of the sales app: one module per area, registered on /api/v1/ by config/api.py."""

from . import contracts, deals, leads


def register(router) -> None:
    for module in (leads, deals, contracts):
        module.register(router)
