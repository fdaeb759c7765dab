"""Celery tasks of studio: Excel imports that are too large to run in a request."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=False)
def run_import(job_id: int, phase: str) -> None:
    """Preview or commit an ImportJob. Not retried: a commit is all-or-nothing, a second run
    would start again from a clean state but the user decides that (the page offers it)."""
    from .imports import import_run
    from .models import ImportJob

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        import_run(job=job, phase=phase)
