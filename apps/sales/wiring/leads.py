"""Start-up wiring of the sales app, leads part: navigation entries, 360° panels, to-do
providers, approval outcome handlers. Called once from SalesConfig.ready()."""


def connect() -> None:
    """Register this part's plug-ins with the foundation and the customers app."""
