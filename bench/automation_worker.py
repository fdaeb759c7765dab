"""Celery app for the reliability run: the project's app with a short Redis visibility timeout,
so messages of a killed worker come back in seconds instead of an hour."""

from config.celery import app

app.conf.broker_transport_options = {"visibility_timeout": 20}
app.conf.task_always_eager = False

__all__ = ["app"]
