"""The runner: record changes → events (outbox) → matching rules → runs → actions.

    service (in its transaction) ──record_changed()──▶ AutomationEvent row (same transaction)
    on commit ──▶ Celery evaluate_event(event)  ── rules whose trigger and conditions match ──▶
    RuleRun rows (unique idempotency key) ──▶ Celery execute_run(run): each action in its own
    transaction together with its "done" mark, so a retried or redelivered run skips what it did.

A failing action never touches the user's business action (that committed long before); it is
retried with backoff and the run logged as failed with the error. A run's own writes raise the
event depth; past `max_depth()` rules don't fire again (loop guard).
"""

from __future__ import annotations

import datetime as dt
import logging
from contextvars import ContextVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from . import conditions, registry

log = logging.getLogger("weft.automation")

_depth: ContextVar[int] = ContextVar("weft_automation_depth", default=0)


def max_depth() -> int:
    return int(getattr(settings, "WEFT_AUTOMATION_MAX_DEPTH", 3))


def current_depth() -> int:
    return _depth.get()


def _plain_changes(changes) -> dict:
    if not changes:
        return {}
    if isinstance(changes, list | tuple | set):
        return {name: None for name in changes}
    return {k: registry.plain(v) for k, v in dict(changes).items()}


def record_changed(instance: models.Model, *, created: bool = False, changes=None, by=None):
    """Tell automation (and webhook subscribers) that a service created or changed `instance`.

    Call it inside the service's transaction; `changes` is {field: [old, new]} (a list of names
    also works; custom fields: {"custom": [keys]}). Nothing happens before the commit, and a
    rolled-back action triggers nothing. Returns the outbox event, or None when no active rule
    watches the model (then only the after-commit signal is sent).
    """
    spec = registry.spec_for(type(instance))
    if spec is None or instance.pk is None:
        return None
    payload_changes = _plain_changes(changes)
    if "custom" in payload_changes and not isinstance(payload_changes["custom"], list):
        # Some services only say "custom changed": treat every current key as changed.
        payload_changes["custom"] = sorted((getattr(instance, "custom", None) or {}).keys())
    from apps.studio.models import AutomationEvent

    from .signals import record_committed

    event = None
    if registry.rules_for(spec.label):
        event = AutomationEvent.objects.create(
            content_type=ContentType.objects.get_for_model(type(instance)),
            object_id=instance.pk,
            created=created,
            changes=payload_changes,
            actor=by if getattr(by, "pk", None) else None,
            depth=_depth.get(),
        )

        def enqueue(pk=event.pk):
            from apps.studio.tasks import evaluate_event

            try:
                evaluate_event.delay(pk)
            except Exception:  # broker down: the sweeper picks the event up later
                log.exception("automation: could not queue event %s", pk)

        transaction.on_commit(enqueue)

    def announce():
        try:
            record_committed.send(
                sender=type(instance),
                instance=instance,
                spec=spec,
                created=created,
                changes=payload_changes,
                by=by,
            )
        except Exception:  # a listener's failure never reaches the business action
            log.exception("automation: record_committed listener failed")

    transaction.on_commit(announce)
    return event


# --- matching -------------------------------------------------------------------------------
def _text(value) -> str:
    value = registry.plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def trigger_matches(rule, spec, instance, *, created: bool, changes: dict) -> bool:
    from apps.studio.models import Trigger

    if rule.trigger == Trigger.CREATED:
        return created
    if rule.trigger == Trigger.UPDATED:
        return not created and bool(changes)
    if rule.trigger != Trigger.FIELD_CHANGED:
        return False
    field = rule.trigger_field
    if created:
        # A record created with the value counts as "changed to" it (from nothing).
        if rule.from_value or not rule.to_value:
            return False
        return _text(spec.value(instance, field)) == rule.to_value
    if field.startswith("custom."):
        if field[7:] not in (changes.get("custom") or []):
            return False
        if rule.from_value:
            return False  # old custom values are not kept in events
        return not rule.to_value or _text(spec.value(instance, field)) == rule.to_value
    if field not in changes:
        return False
    pair = changes[field]
    old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, None)
    if pair is None:  # names only: compare the current value
        new = spec.value(instance, field)
    if rule.from_value and _text(old) != rule.from_value:
        return False
    if rule.to_value and _text(new) != rule.to_value:
        return False
    return True


def matching_rules(spec, instance, *, created: bool, changes: dict) -> list:
    out = []
    with registry.memoized():
        for rule in registry.rules_for(spec.label):
            if trigger_matches(rule, spec, instance, created=created, changes=changes):
                if conditions.evaluate(spec, instance, rule, changes):
                    out.append(rule)
    return out


def _label(instance) -> str:
    try:
        return str(instance)[:300]
    except Exception:  # noqa: BLE001 - a broken __str__ must not stop the log
        return ""


def evaluate(event_id: int) -> list[int]:
    """Turn one event into runs (idempotent: evaluating twice creates no second run).
    Returns the ids of runs to execute."""
    from apps.studio.models import AutomationEvent, RuleRun

    with transaction.atomic():
        event = (
            AutomationEvent.objects.select_for_update(of=("self",))
            .select_related("content_type")
            .filter(pk=event_id)
            .first()
        )
        if event is None or event.status == AutomationEvent.Status.DONE:
            return []
        spec = registry.spec_for_ct(event.content_type)
        instance = spec.model._default_manager.filter(pk=event.object_id).first() if spec else None
        to_run: list[int] = []
        if instance is not None:
            for rule in matching_rules(
                spec, instance, created=event.created, changes=event.changes or {}
            ):
                too_deep = event.depth >= max_depth()
                run, made = RuleRun.objects.get_or_create(
                    idempotency_key=f"e{event.pk}:r{rule.pk}",
                    defaults={
                        "rule": rule,
                        "content_type": event.content_type,
                        "object_id": event.object_id,
                        "record_label": _label(instance),
                        "event": event,
                        "trigger": rule.trigger,
                        "depth": event.depth,
                        "status": RuleRun.Status.SKIPPED if too_deep else RuleRun.Status.PENDING,
                        "error": (
                            f"loop guard: depth {event.depth} reached the limit {max_depth()}"
                            if too_deep
                            else ""
                        ),
                        "finished_at": timezone.now() if too_deep else None,
                    },
                )
                if too_deep and made:
                    log.warning("automation: rule %s not run, depth %s", rule.pk, event.depth)
                if run.status == RuleRun.Status.PENDING:
                    to_run.append(run.pk)
        event.status = AutomationEvent.Status.DONE
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "processed_at"])
    return to_run


# --- running --------------------------------------------------------------------------------
class RunFailed(Exception):
    """An action failed; the run may be retried."""


def execute(run_id: int, *, final_attempt: bool) -> str:
    """Run the actions of one run that are not done yet. Returns the run's new status.
    Raises RunFailed when an action failed and another attempt should follow."""
    from apps.studio.models import RuleRun

    with transaction.atomic():
        run = (
            RuleRun.objects.select_for_update(of=("self",))
            .select_related("rule", "content_type")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status in (RuleRun.Status.SUCCEEDED, RuleRun.Status.SKIPPED):
            return "noop"
        run.status = RuleRun.Status.RUNNING
        run.attempts += 1
        run.started_at = run.started_at or timezone.now()
        run.save(update_fields=["status", "attempts", "started_at"])

    rule = run.rule
    spec = registry.spec_for_ct(run.content_type)
    instance = spec.model._default_manager.filter(pk=run.object_id).first() if spec else None
    if instance is None:
        return _finish(run, RuleRun.Status.FAILED, "the record no longer exists")
    done = {d["index"] for d in run.actions_done}
    for index, action in enumerate(rule.actions.all().order_by("order", "id")):
        if index in done:
            continue
        action_spec = registry.action(action.kind)
        token = _depth.set(run.depth + 1)
        try:
            if action_spec is None:
                raise LookupError(f"action {action.kind!r} is not registered")
            with transaction.atomic():
                # Lock the run first: a redelivered copy of this run waits here, then sees
                # the action done and skips it (exactly once for everything in the database).
                locked = RuleRun.objects.select_for_update().get(pk=run.pk)
                if any(d["index"] == index for d in locked.actions_done):
                    run.actions_done = locked.actions_done
                    continue
                instance.refresh_from_db()
                ctx = registry.ActionContext(
                    rule=rule,
                    run=run,
                    action=action,
                    spec=spec,
                    instance=instance,
                    params=dict(action.params or {}),
                    key=f"{run.idempotency_key}:a{index}",
                )
                result = action_spec.run(ctx)
                entry = {"index": index, "action": action.kind, "result": _jsonable(result)}
                # The "done" mark commits with the action's own writes, or not at all.
                locked.actions_done = [*locked.actions_done, entry]
                locked.save(update_fields=["actions_done"])
                run.actions_done = locked.actions_done
        except Exception as exc:  # noqa: BLE001 - any failure is logged on the run
            log.warning("automation: run %s action %s failed: %s", run.pk, action.kind, exc)
            message = f"{action.kind}: {exc.__class__.__name__}: {exc}"[:4000]
            if final_attempt:
                return _finish(run, RuleRun.Status.FAILED, message)
            _finish(run, RuleRun.Status.PENDING, message, finished=False)
            raise RunFailed(message) from exc
        finally:
            _depth.reset(token)
    return _finish(run, RuleRun.Status.SUCCEEDED, "")


def _jsonable(result):
    if result is None or isinstance(result, str | int | float | bool):
        return result
    if isinstance(result, dict):
        return {str(k): _jsonable(v) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return [_jsonable(v) for v in result]
    return str(registry.plain(result))


def _finish(run, status: str, error: str, *, finished: bool = True) -> str:
    from apps.studio.models import RuleRun

    fields = {"status": status, "error": error}
    if finished:
        fields["finished_at"] = timezone.now()
    RuleRun.objects.filter(pk=run.pk).update(**fields)
    return status


def rerun(run) -> None:
    """Admin: run a failed run again (the actions already done are skipped)."""
    from apps.studio.models import RuleRun
    from apps.studio.tasks import execute_run

    updated = RuleRun.objects.filter(pk=run.pk, status=RuleRun.Status.FAILED).update(
        status=RuleRun.Status.PENDING, error="", finished_at=None
    )
    if updated:
        transaction.on_commit(lambda: execute_run.delay(run.pk))


# --- the daily schedule -----------------------------------------------------------------------
def _scheduled_records(rule, spec, today: dt.date):
    from apps.studio.models import Trigger

    assert rule.trigger == Trigger.SCHEDULE  # noqa: S101 - internal invariant
    target = today - dt.timedelta(days=rule.schedule_offset_days)
    field = rule.schedule_field
    qs = spec.model._default_manager.all()
    if field.startswith("custom."):
        return qs.filter(**{f"custom__{field[7:]}__startswith": target.isoformat()})
    kind = spec.field_kind(field)
    if kind == "datetime":
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(target, dt.time.min, tzinfo=tz)
        return qs.filter(**{f"{field}__gte": start, f"{field}__lt": start + dt.timedelta(days=1)})
    return qs.filter(**{field: target})


def run_daily(*, today: dt.date | None = None) -> list[int]:
    """Create today's runs of every schedule rule (idempotent per rule, record and day)."""
    from apps.studio.models import RuleRun, Trigger

    today = today or timezone.localdate()
    to_run: list[int] = []
    for label, rules in registry.active_rules().items():
        spec = registry.spec_for(label)
        if spec is None:
            continue
        for rule in rules:
            if rule.trigger != Trigger.SCHEDULE or not rule.schedule_field:
                continue
            for instance in _scheduled_records(rule, spec, today).iterator(chunk_size=500):
                with registry.memoized():
                    met = conditions.evaluate(spec, instance, rule, {})
                if not met:
                    continue
                run, made = RuleRun.objects.get_or_create(
                    idempotency_key=f"s{rule.pk}:{instance.pk}:{today.isoformat()}",
                    defaults={
                        "rule": rule,
                        "content_type": rule.content_type,
                        "object_id": instance.pk,
                        "record_label": _label(instance),
                        "trigger": rule.trigger,
                    },
                )
                if made:
                    to_run.append(run.pk)
    return to_run


def pending_work(*, older_than: dt.timedelta = dt.timedelta(minutes=2)):
    """Events and runs the queue lost (broker down at commit time, a worker killed): their ids."""
    from apps.studio.models import AutomationEvent, RuleRun

    cutoff = timezone.now() - older_than
    events = list(
        AutomationEvent.objects.filter(
            status=AutomationEvent.Status.PENDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:5000]
    )
    runs = list(
        RuleRun.objects.filter(
            status__in=[RuleRun.Status.PENDING, RuleRun.Status.RUNNING], created_at__lt=cutoff
        ).values_list("pk", flat=True)[:5000]
    )
    return events, runs
