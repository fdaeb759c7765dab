"""Celery jobs of the money area. `apps.sales.wiring.contracts` imports this module, so the
worker registers the task whenever Django starts; the beat schedule row is created by
migration `0002_money_payment_reminder_schedule` (admin: Periodic tasks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, name="apps.sales.tasks_contracts.payment_remind_due")
def payment_remind_due() -> dict:
    """Daily: remind owner and finance of instalments due soon or overdue (once each)."""
    from .services.contracts_payments import payment_remind_due as run

    return run()
