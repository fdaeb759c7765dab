"""The one generic viewflow flow that walks any frozen approval chain.

    start ─► advance ─► route ─(step left)─► split ─► approve × N ─► join ─► step_done ─► decide
                ▲          └─(none left)─► approved ─► end                                   │
                └──────────────────────────(approved)──────────────────────────────────────┤
                                                      rejected ◄─(rejected)─────────────────┤
                                                      returned ◄─(returned)─────────────────┘

`advance` moves to the next step whose condition holds; `split` creates one approve task per
resolved approver (the fallback approver when the rule finds nobody); `join` continues as soon
as the step is decided: the first decision for or-sign (the other tasks are cancelled), every
approval for countersign, any rejection or return at once. Process rows are `ApprovalProcess`;
the request (business data) is reached through `engine.request_for(process)`. The process row
is locked with SELECT … FOR UPDATE for every transition (services lock the request first).
Nothing here is called directly: `services` start rounds and complete tasks.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow import this
from viewflow.workflow import lock, nodes
from viewflow.workflow.activation import Activation
from viewflow.workflow.base import Flow
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.models import Task
from viewflow.workflow.nodes.split import SplitActivation

from apps.org.errors import ServiceError

from . import engine
from .chain import fallback_approver, resolve_approvers, step_applies
from .hooks import outcome_reached
from .models import ApprovalAction, ApprovalParticipant, ApprovalProcess, ApprovalRequest

User = get_user_model()

APPROVE, REJECT, RETURN = "approve", "reject", "return"


class ApproverSplitActivation(SplitActivation):
    """One outgoing task per item of the branch's data source (open-source Split has none)."""

    @Activation.status.super()
    def activate(self):
        for node, cond, data_source in self.flow_task._branches:
            if cond and not cond(self):
                continue
            items = data_source(self) if data_source else [None]
            self.next_tasks.extend((node, item) for item in items)
        if not self.next_tasks:
            raise FlowRuntimeError(f"No approver task for {self.flow_task.name}")


class ApproverSplit(nodes.Split):
    activation_class = ApproverSplitActivation

    def Next(self, node, case=None, data_source=None):  # noqa: N802 - viewflow's fluent API
        self._activate_next.append((node, case, data_source))
        return self


def _headless(request, **kwargs):  # pragma: no cover - Weft's own pages drive the tasks
    raise NotImplementedError


class ApprovalFlow(Flow):
    """Approval"""

    process_class = ApprovalProcess
    lock_impl = lock.select_for_update_lock

    start = nodes.StartHandle(this.start_round).Next(this.advance)
    advance = nodes.Function(this.advance_step).Next(this.route)
    route = nodes.If(this.has_step).Then(this.split).Else(this.approved)
    split = ApproverSplit().Next(this.approve, data_source=this.step_approvers)
    approve = (
        nodes.View(_headless).Assign(this.task_owner).onCreate(this.task_created).Next(this.join)
    )
    join = nodes.Join(continue_on_condition=this.step_decided).Next(this.step_done)
    step_done = nodes.Function(this.finish_step).Next(this.decide)
    decide = (
        nodes.Switch()
        .Case(this.rejected, this.is_rejected)
        .Case(this.returned, this.is_returned)
        .Default(this.advance)
    )
    approved = nodes.Function(this.finish_approved).Next(this.end)
    rejected = nodes.Function(this.finish_rejected).Next(this.end)
    returned = nodes.Function(this.finish_returned).Next(this.end)
    end = nodes.End()

    # --- start and walk -------------------------------------------------------------------

    def start_round(self, activation, request: ApprovalRequest):
        process = activation.process
        process.artifact = request
        process.round = request.round
        process.step_index = -1
        process.outcome = ""
        return process

    def advance_step(self, activation):
        process = activation.process
        request = engine.request_for(process)
        steps = request.steps
        index = (process.step_index if process.step_index is not None else -1) + 1
        while index < len(steps) and not step_applies(
            steps[index],
            amount=request.amount,
            department=request.department,
            data=request.data,
        ):
            index += 1
        process.step_index = index if index < len(steps) else None
        process.outcome = ""
        process.save(update_fields=["data"])
        engine.update_request(request, current_step=process.step_index)

    def has_step(self, activation) -> bool:
        return activation.process.step_index is not None

    def step_approvers(self, activation) -> list[dict]:
        process = activation.process
        request = engine.request_for(process)
        index = process.step_index
        step = engine.step_of(request, index)
        users = resolve_approvers(
            step,
            initiator=request.initiator,
            department=request.department,
            subject=request.subject,
        )
        fallback = False
        if not users:
            user = fallback_approver(request.chain)
            if user is None:
                raise ServiceError(
                    _(
                        "Nobody can approve step “%(step)s”: set a fallback approver on the "
                        "template."
                    )
                    % {"step": step.get("name", "")}
                )
            users, fallback = [user], True
            engine.record(request, ApprovalAction.Kind.FALLBACK, step_index=index, target=user)
            engine.notify_fallback(request, step, user)
        request._approvers = {u.pk: u for u in users}  # task_owner needs no second query
        return [{"approver": u.pk, "step": index, "fallback": fallback} for u in users]

    def task_owner(self, activation):
        pk = activation.task.data["approver"]
        known = getattr(engine.request_for(activation.process), "_approvers", {})
        return known.get(pk) or User.objects.get(pk=pk)

    def task_created(self, activation):
        task = activation.task
        request = engine.request_for(activation.process)
        step = engine.step_of(request, task.data.get("step"))
        if step.get("due_hours"):
            task.scheduled = task.created + dt.timedelta(hours=step["due_hours"])
            task.save(update_fields=["scheduled"])
        engine.add_participants(request, [task.owner_id], ApprovalParticipant.Kind.APPROVER)
        engine.notify_assigned(request, [task.owner])

    # --- deciding a step ------------------------------------------------------------------

    def step_decided(self, activation, active_tasks) -> bool:
        decisions = [t.data.get("decision") for t in activation.task.previous.all()]
        if REJECT in decisions or RETURN in decisions:
            return True
        request = engine.request_for(activation.process)
        step = engine.step_of(request, activation.process.step_index)
        return step.get("mode") == "orsign" and APPROVE in decisions

    def finish_step(self, activation):
        process = activation.process
        # The approve tasks that reached the join in front of this node (one query).
        done = list(
            Task.objects.filter(leading__leading=activation.task).order_by("finished", "pk")
        )
        decisions = [t.data.get("decision") for t in done]
        if REJECT in decisions:
            outcome, decisive = "rejected", decisions.index(REJECT)
        elif RETURN in decisions:
            outcome, decisive = "returned", decisions.index(RETURN)
        else:
            outcome, decisive = "approved", len(done) - 1
        last = done[decisive].data if done else {}
        process.outcome = outcome
        process.data["last_decision"] = {
            "by": last.get("decided_by"),
            "comment": last.get("comment", ""),
        }
        process.save(update_fields=["data"])
        request = engine.request_for(process)
        step = engine.step_of(request, process.step_index)
        cc = engine.notify_cc(request, step, outcome)
        if cc:
            engine.record(
                request,
                ApprovalAction.Kind.CC,
                step_index=process.step_index,
                payload={"users": [u.pk for u in cc], "outcome": outcome},
            )

    def is_rejected(self, activation) -> bool:
        return activation.process.outcome == "rejected"

    def is_returned(self, activation) -> bool:
        return activation.process.outcome == "returned"

    # --- the end --------------------------------------------------------------------------

    def _finish(self, activation, status: str):
        process = activation.process
        request = engine.request_for(process)
        changes = {"status": status, "decided_at": timezone.now()}
        if status == ApprovalRequest.Status.APPROVED:
            changes["current_step"] = None
        engine.update_request(request, **changes)
        last = process.data.get("last_decision") or {}
        actor = User.objects.filter(pk=last.get("by")).first() if last.get("by") else None
        if status == ApprovalRequest.Status.APPROVED:
            engine.record(request, ApprovalAction.Kind.COMPLETE)
        engine.notify_outcome(request, status, actor=actor, comment=last.get("comment", ""))
        outcome_reached(request, status, by=actor)

    def finish_approved(self, activation):
        self._finish(activation, ApprovalRequest.Status.APPROVED)

    def finish_rejected(self, activation):
        self._finish(activation, ApprovalRequest.Status.REJECTED)

    def finish_returned(self, activation):
        self._finish(activation, ApprovalRequest.Status.RETURNED)


def approve_tasks():
    """All approver tasks (any status) of the approval flow."""
    return Task.objects.filter(flow_task=ApprovalFlow.approve)
