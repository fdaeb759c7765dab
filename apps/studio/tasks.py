"""Celery tasks of studio: Excel imports too large for a request, and the automation runner."""

from __future__ import annotations

from celery import shared_task

RETRY_DELAYS = (10, 60, 300, 900, 3600)  # seconds between attempts of a failed rule run


@shared_task(acks_late=False)
def run_import(job_id: int, phase: str) -> None:
    """Preview or commit an ImportJob. Not retried: a commit is all-or-nothing, a second run
    would start again from a clean state but the user decides that (the page offers it)."""
    from .imports import import_run
    from .models import ImportJob

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        import_run(job=job, phase=phase)


# --- automation (DESIGN §4.3) ----------------------------------------------------------------
@shared_task(acks_late=True, max_retries=5)
def evaluate_event(event_id: int) -> int:
    """Match one committed change against the active rules; queue the runs. Idempotent."""
    from .automation import engine

    run_ids = engine.evaluate(event_id)
    for pk in run_ids:
        execute_run.delay(pk)
    return len(run_ids)


@shared_task(bind=True, acks_late=True, max_retries=len(RETRY_DELAYS))
def execute_run(self, run_id: int) -> str:
    """Run one rule run's remaining actions; retried with backoff (10 s … 1 h) on failure."""
    from .automation import engine

    final = self.request.is_eager or self.request.retries >= self.max_retries
    try:
        return engine.execute(run_id, final_attempt=final)
    except engine.RunFailed as exc:
        delay = RETRY_DELAYS[min(self.request.retries, len(RETRY_DELAYS) - 1)]
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(acks_late=True)
def automation_daily() -> int:
    """Beat, daily: the runs of "N days before/after <date field>" rules."""
    from .automation import engine

    run_ids = engine.run_daily()
    for pk in run_ids:
        execute_run.delay(pk)
    return len(run_ids)


@shared_task(acks_late=True)
def automation_sweep() -> dict:
    """Beat, every few minutes: queue again what a broker outage or a killed worker left."""
    from .automation import engine

    events, runs = engine.pending_work()
    for pk in events:
        evaluate_event.delay(pk)
    for pk in runs:
        execute_run.delay(pk)
    return {"events": len(events), "runs": len(runs)}
