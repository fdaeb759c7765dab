"""Services of the sales app, deals part: opportunities and their stage moves, the stalled-deal
job. Products and quotes: `deals_quotes.py` (re-exported here, so callers import one module).

Every write takes the acting user `by` (None = the system: jobs, demo data), checks the
permission on the record (`by.has_perm(perm, obj)` = model permission + data scope + grants),
locks what it changes, writes history rows (`OpportunityEvent`, `StageChange`) and queues side
effects (notifications) after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import notify
from apps.customers.models import Contact, Customer, FollowUp
from apps.customers.services._common import apply, refuse_restricted, require
from apps.org.errors import ServiceError
from apps.studio.automation import record_changed
from apps.studio.validation import sync_unique_values, validate_custom_or_raise

from ..models import (
    Campaign,
    Opportunity,
    OpportunityEvent,
    Pipeline,
    SalesSettings,
    Stage,
    StageChange,
)

User = get_user_model()

# Fields a create or an update may set directly; stage and owner move through their services.
OPPORTUNITY_FIELDS = (
    "name",
    "customer",
    "contact",
    "campaign",
    "amount",
    "expected_close_date",
    "description",
)


def record(opportunity: Opportunity, kind: str, by, /, **payload) -> OpportunityEvent:
    return OpportunityEvent.objects.create(
        opportunity=opportunity, kind=kind, actor=by, payload=payload
    )


# --- pipelines -----------------------------------------------------------------------------


def pipeline_default() -> Pipeline | None:
    """The default active pipeline, else the first active one."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "id").first()


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    return (
        Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False)
        .order_by("order", "id")
        .first()
    )


def _status_for(stage: Stage) -> str:
    if stage.is_won:
        return Opportunity.Status.WON
    if stage.is_lost:
        return Opportunity.Status.LOST
    return Opportunity.Status.OPEN


# --- opportunities -------------------------------------------------------------------------


def _resolve(model, value, field: str, *, user=None):
    """An instance from an instance or a pk; with `user`, only rows visible to them."""
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, model) else value
    qs = model.objects.all()
    if user is not None and hasattr(qs, "visible_to"):
        qs = qs.visible_to(user)
    try:
        found = qs.filter(pk=pk).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ServiceError(_("Choose a valid record."), field=field)
    return found


def _check_refs(opportunity: Opportunity, by) -> None:
    if opportunity.contact_id and opportunity.contact.customer_id != opportunity.customer_id:
        raise ServiceError(_("The contact does not belong to this customer."), field="contact")


def _normalise_refs(data: Mapping, by) -> dict:
    data = dict(data)
    if "customer" in data:
        data["customer"] = _resolve(Customer, data["customer"], "customer", user=by)
        if data["customer"] is None:
            raise ServiceError(_("Choose a customer."), field="customer")
    if "contact" in data:
        data["contact"] = _resolve(Contact, data["contact"], "contact")
    if "campaign" in data:
        data["campaign"] = _resolve(Campaign, data["campaign"], "campaign")
    return data


@transaction.atomic
def opportunity_create(*, by, data: Mapping, owner=None, pipeline=None, stage=None) -> Opportunity:
    """Create an opportunity in `stage` (default: the first open stage of `pipeline`, default:
    the default pipeline). `owner` defaults to `by`; someone else needs
    `sales.assign_opportunity`. History: a CREATED event and the first StageChange row."""
    require(by, "sales.add_opportunity")
    owner = owner or by
    if owner is None:
        raise ServiceError(_("Choose an owner."), field="owner")
    if by is not None and owner.pk != by.pk:
        require(by, "sales.assign_opportunity")
    if not owner.is_active:
        raise ServiceError(_("Choose an active user as owner."), field="owner")
    refuse_restricted(
        by, Opportunity, [k for k in data if k in OPPORTUNITY_FIELDS or k == "custom"]
    )
    data = _normalise_refs(data, by)
    if data.get("customer") is None:
        raise ServiceError(_("Choose a customer."), field="customer")
    if stage is not None and not isinstance(stage, Stage):
        stage = Stage.objects.filter(pk=stage).select_related("pipeline").first()
        if stage is None:
            raise ServiceError(_("Choose a valid stage."), field="stage")
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        pipeline = Pipeline.objects.filter(pk=pipeline).first()
        if pipeline is None:
            raise ServiceError(_("Choose a valid pipeline."), field="pipeline")
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else pipeline_default()
    if pipeline is None:
        raise ServiceError(_("No sales pipeline is set up yet."), field="pipeline")
    if stage is None:
        stage = first_open_stage(pipeline)
        if stage is None:
            raise ServiceError(_("This pipeline has no open stage."), field="stage")
    if stage.pipeline_id != pipeline.pk:
        raise ServiceError(_("The stage belongs to another pipeline."), field="stage")
    now = timezone.now()
    opp = Opportunity(
        pipeline=pipeline,
        stage=stage,
        probability=stage.probability,
        status=_status_for(stage),
        owner=owner,
        department_id=owner.department_id,
        created_by=by,
        created_at=now,
        stage_changed_at=now,
        last_activity_at=now,
        closed_at=now if stage.is_won or stage.is_lost else None,
        customer=data["customer"],
    )
    apply(opp, data, OPPORTUNITY_FIELDS)
    if stage.is_lost:
        opp.lost_reason = str(data.get("lost_reason") or "").strip()
        if not opp.lost_reason:
            raise ServiceError(_("Give the reason the deal was lost."), field="reason")
    opp.custom = validate_custom_or_raise(Opportunity, data.get("custom"), instance=None)
    _check_refs(opp, by)
    opp.full_clean(exclude=["custom", "lead"], validate_constraints=False)
    opp.save()
    sync_unique_values(opp)
    StageChange.objects.create(opportunity=opp, from_stage=None, to_stage=stage, actor=by, at=now)
    record(
        opp,
        OpportunityEvent.Kind.CREATED,
        by,
        name=opp.name,
        amount=str(opp.amount),
        stage=stage.pk,
        owner=owner.pk,
    )
    record_changed(opp, created=True, by=by)
    return opp


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, by, data: Mapping) -> Opportunity:
    """Change an opportunity's fields (not its stage: `opportunity_move`; not its owner:
    `opportunity_assign`). An UPDATED event lists what changed; it counts as activity."""
    require(by, "sales.change_opportunity", opportunity)
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    names = [k for k in data if k in OPPORTUNITY_FIELDS or k == "custom"]
    refuse_restricted(by, Opportunity, names, opp)
    for refused in ("stage", "pipeline", "status", "probability", "owner"):
        if refused in data:
            raise ServiceError(_("Move or assign the deal to change this."), field=refused)
    data = _normalise_refs(data, by)
    changes = apply(opp, data, OPPORTUNITY_FIELDS)
    if "custom" in data:
        clean = validate_custom_or_raise(Opportunity, data["custom"], instance=opp, partial=True)
        if clean != opp.custom:
            changes["custom"] = sorted(
                k
                for k in set(clean) | set(opp.custom or {})
                if clean.get(k) != (opp.custom or {}).get(k)
            )
            opp.custom = clean
    if not changes:
        return opp
    _check_refs(opp, by)
    opp.full_clean(exclude=["custom", "lead"], validate_constraints=False)
    opp.last_activity_at = timezone.now()
    opp.save()
    sync_unique_values(opp)
    record(opp, OpportunityEvent.Kind.UPDATED, by, changes=changes)
    record_changed(opp, changes=changes, by=by)
    return opp


@transaction.atomic
def opportunity_move(*, opportunity: Opportunity, stage, by, reason: str = "") -> Opportunity:
    """Move a deal to another stage of its pipeline (the kanban drag, `POST .../move/`).

    The probability follows the stage; a won stage closes it as won, a lost stage as lost and
    needs a reason; moving a closed deal back to an open stage reopens it. History: a
    StageChange row (with its date) and a MOVED/WON/LOST/REOPENED event."""
    require(by, "sales.change_opportunity", opportunity)
    opp = (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage")
        .get(pk=opportunity.pk)
    )
    if not isinstance(stage, Stage):
        stage = Stage.objects.filter(pk=stage).first() if str(stage).isdigit() else None
        if stage is None:
            raise ServiceError(_("Choose a valid stage."), field="stage")
    if stage.pipeline_id != opp.pipeline_id:
        raise ServiceError(_("The stage belongs to another pipeline."), field="stage")
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise ServiceError(_("Keep the reason under 300 characters."), field="reason")
    if stage.pk == opp.stage_id:
        return opp
    if stage.is_lost and not reason:
        raise ServiceError(_("Give the reason the deal was lost."), field="reason")
    now = timezone.now()
    previous = opp.stage
    was_closed = opp.status != Opportunity.Status.OPEN
    old_status, old_probability = opp.status, opp.probability
    opp.stage = stage
    opp.probability = stage.probability
    opp.status = _status_for(stage)
    opp.stage_changed_at = now
    opp.last_activity_at = now
    opp.stalled_warned_at = None
    if stage.is_won or stage.is_lost:
        opp.closed_at = now
    else:
        opp.closed_at = None
    opp.lost_reason = reason if stage.is_lost else ""
    if not stage.is_lost:
        opp.lost_from_stage = None
    elif not previous.is_lost:
        opp.lost_from_stage = previous
    # (lost → another lost stage keeps the open stage it was lost from)
    opp.save(
        update_fields=[
            "stage",
            "probability",
            "status",
            "stage_changed_at",
            "last_activity_at",
            "stalled_warned_at",
            "closed_at",
            "lost_reason",
            "lost_from_stage",
            "updated_at",
        ]
    )
    StageChange.objects.create(
        opportunity=opp, from_stage=previous, to_stage=stage, actor=by, at=now, reason=reason
    )
    if stage.is_won:
        kind = OpportunityEvent.Kind.WON
    elif stage.is_lost:
        kind = OpportunityEvent.Kind.LOST
    elif was_closed:
        kind = OpportunityEvent.Kind.REOPENED
    else:
        kind = OpportunityEvent.Kind.MOVED
    payload = {
        "from": previous.pk,
        "to": stage.pk,
        "from_name": previous.name,
        "to_name": stage.name,
    }
    if reason:
        payload["reason"] = reason
    record(opp, kind, by, **payload)
    changes = {"stage": [previous.pk, stage.pk]}
    if opp.status != old_status:
        changes["status"] = [old_status, opp.status]
    if opp.probability != old_probability:
        changes["probability"] = [old_probability, opp.probability]
    record_changed(opp, changes=changes, by=by)
    if (
        by is not None
        and opp.owner_id != by.pk
        and kind
        in (
            OpportunityEvent.Kind.WON,
            OpportunityEvent.Kind.LOST,
        )
    ):
        notify.send(
            opp.owner,
            f"sales.opportunity_{kind}",
            opp,
            actor=by,
            message=_("%(deal)s moved to %(stage)s") % {"deal": opp.name, "stage": stage.name},
        )
    return opp


@transaction.atomic
def opportunity_assign(*, opportunity: Opportunity, owner, by) -> Opportunity:
    """Give a deal to another owner (`sales.assign_opportunity`); the department follows."""
    require(by, "sales.change_opportunity", opportunity)
    require(by, "sales.assign_opportunity")
    if owner is None or not owner.is_active:
        raise ServiceError(_("Choose an active user as owner."), field="owner")
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if opp.owner_id == owner.pk:
        return opp
    previous = opp.owner_id
    opp.owner = owner
    opp.department_id = owner.department_id
    opp.last_activity_at = timezone.now()
    opp.save(update_fields=["owner", "department", "last_activity_at", "updated_at"])
    record(opp, OpportunityEvent.Kind.ASSIGNED, by, previous_owner=previous, owner=owner.pk)
    record_changed(opp, changes={"owner": [previous, owner.pk]}, by=by)
    notify.send(
        owner,
        "sales.opportunity_assigned",
        opp,
        actor=by,
        message=_("%(deal)s is now yours.") % {"deal": opp.name},
    )
    return opp


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity, by) -> None:
    require(by, "sales.delete_opportunity", opportunity)
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    from apps.studio.validation import drop_unique_values

    drop_unique_values(opp)
    opp.delete()


def opportunity_touch(*, opportunity_id: int, at: dt.datetime | None = None) -> None:
    """Count something done on the deal (a quote, a follow-up) as activity."""
    Opportunity.objects.filter(pk=opportunity_id).update(last_activity_at=at or timezone.now())


# --- stalled deals -------------------------------------------------------------------------


def stalled_days_for(stage: Stage, default: int) -> int:
    return stage.stalled_days or default


def stalled_reason(opp: Opportunity, days: int, now: dt.datetime) -> str | None:
    """Why an open deal is stalled, or None: nothing happened on it, or it sat in its stage,
    for `days` days (a deal that is worked on but never moves is stalled too)."""
    if opp.status != Opportunity.Status.OPEN or days <= 0:
        return None
    limit = now - dt.timedelta(days=days)
    if opp.last_activity_at < limit:
        return "no_activity"
    if opp.stage_changed_at < limit:
        return "no_stage_change"
    return None


@transaction.atomic
def opportunities_flag_stalled(*, now: dt.datetime | None = None) -> int:
    """Daily: warn the owners of open deals that stalled (once per stall: a stage move clears
    the marker). One query per open stage finds candidates by the `stage_changed_at` bound
    every stalled deal passes; follow-ups logged on a deal count as activity."""
    now = now or timezone.now()
    default = SalesSettings.load().stalled_days_default
    warned = 0
    stages = Stage.objects.filter(is_won=False, is_lost=False, pipeline__is_active=True)
    for stage in stages:
        days = stalled_days_for(stage, default)
        if days <= 0:
            continue
        limit = now - dt.timedelta(days=days)
        candidates = list(
            Opportunity.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .filter(
                stage=stage,
                status=Opportunity.Status.OPEN,
                stage_changed_at__lt=limit,
                stalled_warned_at__isnull=True,
            )
            .order_by("pk")[:5000]
        )
        if not candidates:
            continue
        last_follow_up = dict(
            FollowUp.objects.filter(opportunity_id__in=[o.pk for o in candidates])
            .values("opportunity_id")
            .annotate(last=Max("occurred_at"))
            .values_list("opportunity_id", "last")
        )
        for opp in candidates:
            seen = last_follow_up.get(opp.pk)
            if seen and seen > opp.last_activity_at:
                opp.last_activity_at = seen
            reason = stalled_reason(opp, days, now)
            if reason is None:
                continue
            opp.stalled_warned_at = now
            opp.save(update_fields=["stalled_warned_at", "last_activity_at"])
            record(opp, OpportunityEvent.Kind.STALLED, None, days=days, reason=reason)
            if reason == "no_activity":
                text = _("%(deal)s: nothing happened for %(days)s days.")
            else:
                text = _("%(deal)s: still in stage %(stage)s after %(days)s days.")
            notify.send(
                opp.owner,
                "sales.opportunity_stalled",
                opp,
                message=text % {"deal": opp.name, "days": days, "stage": stage.name},
            )
            warned += 1
    return warned


# Products and quotes live in their own module; callers import services.deals only.
from .deals_quotes import *  # noqa: E402, F403
from .deals_quotes import __all__ as _quote_names  # noqa: E402

__all__ = [
    "OPPORTUNITY_FIELDS",
    "first_open_stage",
    "opportunities_flag_stalled",
    "opportunity_assign",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_move",
    "opportunity_touch",
    "opportunity_update",
    "pipeline_default",
    "stalled_days_for",
    "stalled_reason",
    *_quote_names,
]
