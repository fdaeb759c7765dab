"""API of the sales app, deals part."""


def register(router) -> None:
    """Add the deals viewsets to the /api/v1/ router."""
