"""API of the sales app, leads part."""


def register(router) -> None:
    """Add the leads viewsets to the /api/v1/ router."""
