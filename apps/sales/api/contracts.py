"""API of the sales app, contracts part."""


def register(router) -> None:
    """Add the contracts viewsets to the /api/v1/ router."""
