"""Automation actions notify provides (registered in NotifyConfig.ready): notify people, send
an SMS to a phone field of the record, post to a group robot, call a webhook."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.studio.automation import ActionContext, ActionSpec, check_template, register_action


def _template(params: dict, key: str, spec, *, required: bool = True) -> str:
    text = str(params.get(key) or "")
    if required and not text.strip():
        raise ValidationError({"params": _("%(key)s: write the message.") % {"key": key}})
    try:
        return check_template(text, spec)
    except ValidationError as exc:
        raise ValidationError({"params": [f"{key}: {m}" for m in exc.messages]}) from exc


def _ids(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return [int(v) for v in value if str(v).isdigit()]


# --- notify people ----------------------------------------------------------------------
def _clean_notify(params: dict, spec) -> dict:
    User = get_user_model()
    users = _ids(params.get("users"))
    if len(users) != User.objects.filter(pk__in=users, is_active=True).count():
        raise ValidationError({"params": _("users: ids of active users.")})
    roles = [str(r) for r in params.get("roles") or []]
    if len(roles) != Group.objects.filter(name__in=roles).count():
        raise ValidationError({"params": _("roles: names of existing roles.")})
    owner = bool(params.get("owner"))
    manager = bool(params.get("owner_manager"))
    if (owner or manager) and not spec.owner_field:
        raise ValidationError({"params": _("This model has no owner.")})
    if not (users or roles or owner or manager):
        raise ValidationError({"params": _("Say who is notified: owner, users or roles.")})
    out = {
        "owner": owner,
        "owner_manager": manager,
        "users": users,
        "roles": roles,
        "message": _template(params, "message", spec),
    }
    if params.get("channels") is not None:
        out["channels"] = [str(c) for c in params.get("channels") or []]
    return out


def _recipients(ctx: ActionContext) -> list:
    User = get_user_model()
    people = []
    owner = ctx.spec.owner_of(ctx.instance)
    if ctx.params.get("owner") and owner is not None:
        people.append(owner)
    if ctx.params.get("owner_manager") and owner is not None and owner.manager_id:
        people.append(owner.manager)
    ids = ctx.params.get("users") or []
    roles = ctx.params.get("roles") or []
    if ids or roles:
        from django.db.models import Q

        people += list(
            User.objects.filter(Q(pk__in=ids) | Q(groups__name__in=roles), is_active=True)
            .distinct()
            .order_by("pk")
        )
    return people


def run_notify(ctx: ActionContext):
    from apps.org.fields import field_access

    from . import send

    # Each recipient reads the message with their own field security: people who see the
    # same fields share one rendering.
    groups: dict[frozenset, list] = {}
    for person in _recipients(ctx):
        hidden = field_access(person, ctx.spec.model, ctx.instance).hidden
        groups.setdefault(hidden, []).append(person)
    rows = []
    for people in groups.values():
        rows += send(
            people,
            f"automation.{ctx.rule.pk}",
            ctx.instance,
            message=ctx.render(ctx.params["message"], for_user=people[0])[:500],
            channels_only=ctx.params.get("channels"),
            notify_actor=True,
        )
    return {"notified": [n.recipient_id for n in rows]}


# --- SMS to a phone field of the record ----------------------------------------------------
def _clean_sms(params: dict, spec) -> dict:
    field = str(params.get("to_field") or "")
    if not spec.has_field(field) or spec.field_kind(field) not in ("text",):
        raise ValidationError({"params": _("to_field: a phone or mobile field of the record.")})
    return {"to_field": field, "message": _template(params, "message", spec)}


def run_sms(ctx: ActionContext):
    from .outbound import message_queue

    to = str(ctx.spec.value(ctx.instance, ctx.params["to_field"]) or "").strip()
    if not to:
        return {"skipped": "no number"}
    msg = message_queue(
        channel="sms", to=to, body=ctx.render(ctx.params["message"])[:500], key=ctx.key
    )
    return {"message": msg.pk}


# --- group robot ---------------------------------------------------------------------------
def _clean_robot(params: dict, spec) -> dict:
    from .models import Robot

    robot = params.get("robot")
    if not Robot.objects.filter(pk=robot if str(robot).isdigit() else None).exists():
        raise ValidationError({"params": _("robot: the id of a group robot.")})
    return {
        "robot": int(robot),
        "title": _template(params, "title", spec, required=False),
        "message": _template(params, "message", spec),
        "mention_owner": bool(params.get("mention_owner")),
    }


def run_robot(ctx: ActionContext):
    from .outbound import message_queue

    owner = ctx.spec.owner_of(ctx.instance)
    mobiles = [owner.mobile] if ctx.params.get("mention_owner") and owner and owner.mobile else []
    msg = message_queue(
        channel="robot",
        robot=ctx.params["robot"],
        title=ctx.render(ctx.params.get("title") or "")[:200],
        body=ctx.render(ctx.params["message"]),
        mentions=mobiles,
        key=ctx.key,
    )
    return {"message": msg.pk}


# --- webhook -------------------------------------------------------------------------------
def _clean_webhook(params: dict, spec) -> dict:
    from .models import WebhookSubscription

    sub = params.get("subscription")
    url = str(params.get("url") or "")
    if sub is not None:
        if not WebhookSubscription.objects.filter(pk=sub if str(sub).isdigit() else None).exists():
            raise ValidationError({"params": _("subscription: the id of a webhook subscription.")})
        return {"subscription": int(sub), "event": str(params.get("event") or "automation")}
    if not url.startswith(("http://", "https://")):
        raise ValidationError({"params": _('Give "subscription" (an id) or an http(s) "url".')})
    return {
        "url": url,
        "secret": str(params.get("secret") or ""),
        "event": str(params.get("event") or "automation")[:100],
    }


def run_webhook(ctx: ActionContext):
    from .models import WebhookSubscription
    from .webhooks import delivery_queue

    data = {
        "rule": {"id": ctx.rule.pk, "name": ctx.rule.name},
        "model": ctx.spec.label,
        "record": ctx.spec.snapshot(ctx.instance),
    }
    event = f"automation.{ctx.params.get('event') or 'automation'}"
    if ctx.params.get("subscription"):
        sub = WebhookSubscription.objects.get(pk=ctx.params["subscription"])
        d = delivery_queue(
            url=sub.url, secret=sub.secret, event=event, data=data, subscription=sub, key=ctx.key
        )
    else:
        d = delivery_queue(
            url=ctx.params["url"],
            secret=ctx.params.get("secret", ""),
            event=event,
            data=data,
            key=ctx.key,
        )
    return {"delivery": d.pk}


def register() -> None:
    register_action(
        ActionSpec(
            key="notify",
            label=gettext_lazy("Notify people"),
            run=run_notify,
            clean=_clean_notify,
            help=gettext_lazy(
                '{"owner": true, "owner_manager": false, "users": [3], "roles": ["财务"], '
                '"message": "{customer.name} signed", "channels": ["email"] (optional)}'
            ),
        )
    )
    register_action(
        ActionSpec(
            key="send_sms",
            label=gettext_lazy("Send an SMS to the record"),
            run=run_sms,
            clean=_clean_sms,
            help=gettext_lazy('{"to_field": "phone", "message": "Welcome, {customer.name}!"}'),
        )
    )
    register_action(
        ActionSpec(
            key="post_to_robot",
            label=gettext_lazy("Post to a group robot"),
            run=run_robot,
            clean=_clean_robot,
            help=gettext_lazy('{"robot": 1, "title": "…", "message": "…", "mention_owner": true}'),
        )
    )
    register_action(
        ActionSpec(
            key="call_webhook",
            label=gettext_lazy("Call a webhook"),
            run=run_webhook,
            clean=_clean_webhook,
            help=gettext_lazy(
                '{"subscription": 1, "event": "signed"} or {"url": "https://…", "secret": "…"}'
            ),
        )
    )
