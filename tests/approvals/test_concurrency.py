"""Real concurrency on PostgreSQL: threads with their own connections hit one task at once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from viewflow.workflow.status import STATUS

from apps.approvals import services
from apps.approvals.flows import approve_tasks
from apps.approvals.models import ApprovalAction, ApprovalRequest, ApproverType, SignMode
from apps.approvals.selectors import pending_tasks_for
from apps.org.errors import ConflictError
from tests.approvals.factories import template_with_steps

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(calls) -> list:
    """Run the callables in parallel threads released at once; return results/exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_fifty_parallel_approvals_make_one_transition(company):
    template_with_steps(
        "t",
        {"approver_type": ApproverType.MANAGER},
        {"approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = pending_tasks_for(company.director).get()
    director = company.director

    results = run_together(
        [(lambda: services.approval_task_approve(task=task.pk, by=director, comment="ok"))] * 50
    )

    errors = [r for r in results if isinstance(r, Exception)]
    ok = [r for r in results if isinstance(r, ApprovalRequest)]
    assert len(ok) == 1, results
    assert len(errors) == 49 and all(isinstance(e, ConflictError) for e in errors), errors
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.PENDING and request.current_step == 1
    assert request.actions.filter(kind=ApprovalAction.Kind.APPROVE).count() == 1
    assert approve_tasks().filter(process_id=request.process_id).count() == 2
    assert pending_tasks_for(company.boss).count() == 1


def test_orsign_approvers_racing_decide_once(company):
    template_with_steps(
        "t",
        {
            "approver_type": ApproverType.USERS,
            "users": [company.boss, company.finance, company.director],
            "mode": SignMode.ORSIGN,
        },
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    calls = []
    for user in (company.boss, company.finance, company.director):
        task = pending_tasks_for(user).get()
        calls.append(
            lambda task=task, user=user: services.approval_task_approve(task=task.pk, by=user)
        )
        calls.append(
            lambda task=task, user=user: services.approval_task_reject(task=task.pk, by=user)
        )
    results = run_together(calls)
    assert sum(isinstance(r, ApprovalRequest) for r in results) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, ApprovalRequest))
    request.refresh_from_db()
    assert request.status in (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED)
    tasks = approve_tasks().filter(process_id=request.process_id)
    assert tasks.filter(status=STATUS.DONE).count() == 1
    assert tasks.filter(status=STATUS.CANCELED).count() == 2


def test_withdraw_racing_an_approval(company):
    template_with_steps(
        "t",
        {"approver_type": ApproverType.MANAGER},
        {"approver_type": ApproverType.USERS, "users": [company.boss]},
    )
    request = services.approval_start(template="t", by=company.rep, title="x")
    task = pending_tasks_for(company.director).get()
    results = run_together(
        [
            lambda: services.approval_task_approve(task=task.pk, by=company.director),
            lambda: services.approval_withdraw(request=request, by=company.rep),
        ]
    )
    request.refresh_from_db()
    if isinstance(results[0], ConflictError):
        assert request.status == ApprovalRequest.Status.WITHDRAWN
        assert not isinstance(results[1], Exception)
    else:
        # The approval went first; the withdrawal then cancelled the next step.
        assert request.status == ApprovalRequest.Status.WITHDRAWN
        assert not pending_tasks_for(company.boss).exists()
    assert (
        not approve_tasks().filter(process_id=request.process_id, status=STATUS.ASSIGNED).exists()
    )
