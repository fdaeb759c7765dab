"""Approvals and automation (DESIGN §4.3): approval requests are open to rules (a decided
request is a "status changed" event), and rules get a "start approval" action."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.studio.automation import (
    ActionContext,
    ActionSpec,
    ModelSpec,
    check_template,
    record_changed,
    register_action,
    register_model,
)

FIELDS = [
    "template",
    "title",
    "amount",
    "initiator",
    "department",
    "status",
    "created_at",
    "submitted_at",
    "decided_at",
]


def _on_decided(sender, request, outcome, by=None, **kwargs):
    """After an outcome commits: tell automation the request's status changed."""
    old = "returned" if outcome == "resubmitted" else "pending"
    with transaction.atomic():
        record_changed(request, changes={"status": [old, request.status]}, by=by)


def _clean_start(params: dict, spec: ModelSpec) -> dict:
    from .models import ApprovalTemplate

    code = str(params.get("template") or "")
    if not ApprovalTemplate.objects.filter(code=code, active=True).exists():
        raise ValidationError({"params": _("template: the code of an active approval template.")})
    initiator = params.get("initiator", "owner")
    if initiator == "owner":
        if not spec.owner_field:
            raise ValidationError({"params": _("This model has no owner: give a user id.")})
    elif not get_user_model().objects.filter(pk=initiator, is_active=True).exists():
        raise ValidationError({"params": _('initiator: "owner" or the id of an active user.')})
    amount_field = params.get("amount_field") or ""
    if amount_field and spec.field_kind(amount_field) != "number":
        raise ValidationError({"params": _("amount_field: a number field of the record.")})
    try:
        title = check_template(params.get("title") or "", spec)
    except ValidationError as exc:
        raise ValidationError({"params": exc.messages}) from exc
    return {
        "template": code,
        "title": title or f"{{{spec.name}.{spec.fields[0]}}}",
        "initiator": initiator,
        "amount_field": amount_field,
    }


def _start(ctx: ActionContext):
    from .services import approval_start

    initiator = ctx.params.get("initiator", "owner")
    if initiator == "owner":
        by = ctx.spec.owner_of(ctx.instance)
    else:
        by = get_user_model().objects.filter(pk=initiator, is_active=True).first()
    if by is None or not by.is_active:
        raise LookupError(_("Nobody to start the approval as (the record has no owner)."))
    amount = (
        ctx.spec.value(ctx.instance, ctx.params["amount_field"])
        if ctx.params.get("amount_field")
        else None
    )
    request = approval_start(
        template=ctx.params["template"],
        by=by,
        title=ctx.render(ctx.params["title"])[:200],
        amount=amount,
        subject=ctx.instance,
    )
    return {"approval": request.pk}


def register() -> None:
    from .hooks import approval_decided
    from .models import ApprovalRequest

    register_model(
        ModelSpec(model=ApprovalRequest, name="approval", fields=FIELDS, owner_field="initiator")
    )
    register_action(
        ActionSpec(
            key="start_approval",
            label=gettext_lazy("Start an approval"),
            run=_start,
            clean=_clean_start,
            help=gettext_lazy(
                '{"template": "contract", "title": "Contract {contract.number}", '
                '"initiator": "owner" or a user id, "amount_field": "amount"}'
            ),
        )
    )
    approval_decided.connect(_on_decided, sender=ApprovalRequest, dispatch_uid="approvals-auto")
