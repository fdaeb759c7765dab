"""Chains: freezing a template onto a request, resolving approver rules, the admin preview.

A frozen chain (stored in `ApprovalRequest.chain`) is plain JSON:

    {"template": {"id", "code", "name", "kind"}, "fallback": user id | None,
     "extra_fields": [...], "frozen_at": iso,
     "steps": [{"id", "name", "approver_type", "users", "role", "role_name", "level",
                "subject_field", "mode", "condition", "cc_users", "cc_roles",
                "allow_return", "due_hours"}, ...]}

Which steps apply is decided by their conditions against the request (amount, department,
data) when the walk reaches them; who approves is resolved at that moment from the live
organisation (managers and roles change), falling back to the chain's fallback approver.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch
from django.utils import timezone

from .conditions import evaluate
from .models import ApprovalStep, ApprovalTemplate, ApproverType

User = get_user_model()


def template_with_steps(template: ApprovalTemplate) -> ApprovalTemplate:
    """The template with its steps and their users/roles loaded (a fixed number of queries)."""
    steps = ApprovalStep.objects.select_related("approver_role").prefetch_related(
        "approver_users", "cc_users", "cc_roles"
    )
    return ApprovalTemplate.objects.prefetch_related(Prefetch("steps", queryset=steps)).get(
        pk=template.pk
    )


def step_snapshot(step: ApprovalStep) -> dict:
    return {
        "id": step.pk,
        "name": step.name,
        "approver_type": step.approver_type,
        "users": sorted(u.pk for u in step.approver_users.all()),
        "role": step.approver_role_id,
        "role_name": step.approver_role.name if step.approver_role_id else "",
        "level": step.level,
        "subject_field": step.subject_field,
        "mode": step.mode,
        "condition": step.condition or {},
        "cc_users": sorted(u.pk for u in step.cc_users.all()),
        "cc_roles": sorted(g.pk for g in step.cc_roles.all()),
        "allow_return": step.allow_return,
        "due_hours": step.due_hours,
    }


def freeze(template: ApprovalTemplate) -> dict:
    """The template as JSON, to store on a request at submission."""
    template = template_with_steps(template)
    return {
        "template": {
            "id": template.pk,
            "code": template.code,
            "name": template.name,
            "kind": template.kind,
        },
        "fallback": template.fallback_approver_id,
        "extra_fields": list(template.extra_fields or []),
        "frozen_at": timezone.now().isoformat(),
        "steps": [step_snapshot(s) for s in template.steps.all()],
    }


def _active(users) -> list:
    seen, out = set(), []
    for u in users:
        if u is not None and u.is_active and u.pk not in seen:
            seen.add(u.pk)
            out.append(u)
    return out


def _subject_user(subject, path: str):
    """Follow forward foreign keys only ("owner", "owner.manager"): no properties, no methods."""
    obj = subject
    for name in path.split("."):
        if obj is None or name.startswith("_"):
            return None
        try:
            field = obj._meta.get_field(name)
        except (FieldDoesNotExist, AttributeError):
            return None
        if not field.concrete or not (field.many_to_one or field.one_to_one):
            return None
        obj = getattr(obj, name)
    return obj if isinstance(obj, User) else None


def resolve_approvers(step: Mapping, *, initiator, department, subject=None) -> list:
    """Active users the step's rule names, in a stable order; [] when the rule finds nobody."""
    kind = step["approver_type"]
    if kind == ApproverType.USERS:
        return _active(User.objects.filter(pk__in=step.get("users") or []).order_by("pk"))
    if kind == ApproverType.ROLE:
        if not step.get("role"):
            return []
        return _active(User.objects.filter(groups__pk=step["role"]).order_by("pk"))
    if kind in (ApproverType.MANAGER, ApproverType.NTH_MANAGER):
        if initiator is None:
            return []
        levels = 1 if kind == ApproverType.MANAGER else max(int(step.get("level") or 1), 1)
        node, seen = initiator, {initiator.pk}
        for _level in range(levels):
            if not node.manager_id or node.manager_id in seen:
                return []
            node = User.objects.filter(pk=node.manager_id).first()
            if node is None:
                return []
            seen.add(node.pk)
        return _active([node])
    if kind == ApproverType.DEPARTMENT_HEAD:
        dept, seen = department, set()
        while dept is not None and dept.pk not in seen:
            seen.add(dept.pk)
            if dept.head_id is None:
                return []
            if initiator is None or dept.head_id != initiator.pk:
                return _active([User.objects.filter(pk=dept.head_id).first()])
            # The initiator heads this department: the head above decides.
            dept = dept.parent
        return []
    if kind == ApproverType.SUBJECT_USER:
        if subject is None or not step.get("subject_field"):
            return []
        return _active([_subject_user(subject, step["subject_field"])])
    return []


def fallback_approver(chain: Mapping):
    """The chain's fallback approver if active, else the first active superuser."""
    uid = (chain or {}).get("fallback")
    if uid:
        user = User.objects.filter(pk=uid, is_active=True).first()
        if user is not None:
            return user
    return User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()


def step_applies(step: Mapping, *, amount, department, data) -> bool:
    return evaluate(
        step.get("condition"), {"amount": amount, "department": department, "data": data or {}}
    )


def preview(
    template: ApprovalTemplate, *, amount=Decimal(0), department=None, data=None, initiator=None
) -> list[dict]:
    """For a sample request: each step, whether it applies and who would approve it."""
    chain = freeze(template)
    if department is None and initiator is not None:
        department = initiator.department
    rows = []
    for index, step in enumerate(chain["steps"]):
        applies = step_applies(step, amount=amount, department=department, data=data)
        approvers, fallback, unknown = [], None, False
        if applies:
            needs_initiator = step["approver_type"] in (
                ApproverType.MANAGER,
                ApproverType.NTH_MANAGER,
            )
            needs_subject = step["approver_type"] == ApproverType.SUBJECT_USER
            if (needs_initiator and initiator is None) or needs_subject:
                unknown = True
            else:
                approvers = resolve_approvers(step, initiator=initiator, department=department)
                if not approvers:
                    fallback = fallback_approver(chain)
        rows.append(
            {
                "index": index,
                "step": step,
                "applies": applies,
                "approvers": approvers,
                "fallback": fallback,
                "unknown": unknown,
            }
        )
    return rows
