"""Writes with business meaning for people, roles, scopes, field policies and sharing."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from . import fields as field_security
from .errors import ServiceError
from .models import FieldPolicy, RoleScope, Scope, User, field_codename
from .scopes import clear_caches

PROFILE_FIELDS = ("display_name", "mobile", "email", "title", "language")


@transaction.atomic
def user_update_profile(*, user: User, by: User, data: dict) -> User:
    """A person edits their own profile (only the fields a person may change about themselves)."""
    if by.pk != user.pk and not by.has_perm("org.change_user"):
        raise PermissionDenied
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = []
    for name in PROFILE_FIELDS:
        if name in data and getattr(user, name) != data[name]:
            setattr(user, name, data[name])
            changed.append(name)
    if changed:
        user.full_clean(exclude=["password"])
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    if language not in User.Language.values:
        raise ServiceError(_("Unknown language."), field="language")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user


@transaction.atomic
def role_scope_set(
    *, role: Group, model: type[models.Model], scope: str, by: User | None = None
) -> RoleScope:
    """Give `role` the data scope `scope` on `model` (replaces the previous one)."""
    if scope not in Scope.values:
        raise ServiceError(_("Unknown data scope."), field="scope")
    ct = ContentType.objects.get_for_model(model)
    row, _created = RoleScope.objects.update_or_create(
        role=role, content_type=ct, defaults={"scope": scope}
    )
    return row


@transaction.atomic
def field_policy_save(*, policy: FieldPolicy, by: User | None = None) -> FieldPolicy:
    """Save a field policy and create the permissions it names."""
    model = policy.content_type.model_class()
    names = {name for name, _label in field_security.securable_fields(model)} if model else set()
    if model and policy.field_name in field_security.record_name_fields(model):
        raise ServiceError(
            _(
                "%(field)s names the record: it is shown wherever the record is "
                "and cannot be restricted."
            )
            % {"field": policy.field_name},
            field="field_name",
        )
    if policy.field_name not in names:
        raise ServiceError(
            _("%(model)s has no field %(field)s.")
            % {"model": policy.content_type.name, "field": policy.field_name},
            field="field_name",
        )
    policy.save()
    field_security.ensure_permissions(policy)
    return policy


@transaction.atomic
def field_policy_set(
    *,
    model: type[models.Model],
    field_name: str,
    restrict_view: bool = True,
    restrict_change: bool = True,
    by: User | None = None,
) -> FieldPolicy:
    ct = ContentType.objects.get_for_model(model)
    policy = FieldPolicy.objects.filter(content_type=ct, field_name=field_name).first()
    policy = policy or FieldPolicy(content_type=ct, field_name=field_name)
    policy.restrict_view = restrict_view
    policy.restrict_change = restrict_change
    return field_policy_save(policy=policy, by=by)


@transaction.atomic
def field_policy_delete(*, policy: FieldPolicy, by: User | None = None) -> None:
    policy.delete()


def _grant_target(to_user: User | None, to_group: Group | None):
    if (to_user is None) == (to_group is None):
        raise ServiceError(_("Share with exactly one user or one role."))
    return to_user or to_group


@transaction.atomic
def object_share(
    *,
    obj: models.Model,
    by: User,
    to_user: User | None = None,
    to_group: Group | None = None,
    action: str = "view",
) -> None:
    """Share one record with a colleague or a role (guardian object grant).

    Only someone who may change the record may share it; "change" implies "view".
    """
    if action not in ("view", "change"):
        raise ServiceError(_("A record can be shared for viewing or editing."), field="action")
    if not by.has_perm(f"{obj._meta.app_label}.change_{obj._meta.model_name}", obj):
        raise PermissionDenied
    target = _grant_target(to_user, to_group)
    assign_perm(f"{obj._meta.app_label}.{action}_{obj._meta.model_name}", target, obj)
    if isinstance(target, User):
        clear_caches(target)


@transaction.atomic
def object_unshare(
    *, obj: models.Model, by: User, to_user: User | None = None, to_group: Group | None = None
) -> None:
    if not by.has_perm(f"{obj._meta.app_label}.change_{obj._meta.model_name}", obj):
        raise PermissionDenied
    target = _grant_target(to_user, to_group)
    for action in ("view", "change"):
        remove_perm(f"{obj._meta.app_label}.{action}_{obj._meta.model_name}", target, obj)
    if isinstance(target, User):
        clear_caches(target)


@transaction.atomic
def field_grant(
    *, obj: models.Model, field_name: str, by: User, to_user: User, action: str = "view"
) -> None:
    """Let one user see (or edit) one restricted field on one record."""
    if action not in ("view", "change"):
        raise ServiceError(_("A field can be granted for viewing or editing."), field="action")
    if not by.has_perm(f"{obj._meta.app_label}.change_{obj._meta.model_name}", obj):
        raise PermissionDenied
    ct = ContentType.objects.get_for_model(obj)
    policy = FieldPolicy.objects.filter(content_type=ct, field_name=field_name).first()
    if policy is None:
        raise ServiceError(_("This field is not restricted."), field="field_name")
    field_security.ensure_permissions(policy)
    actions = ["view", "change"] if action == "change" else ["view"]
    for a in actions:
        assign_perm(field_codename(a, obj._meta.model_name, field_name), to_user, obj)
    clear_caches(to_user)


@transaction.atomic
def user_deactivate(*, user: User, by: User) -> User:
    """Switch a person's account off: no sign-in, no API token, every open session ended.

    Sessions of an inactive user are refused by the auth backend on their next request (Django
    re-checks `is_active`), so no session row needs to be found; the token is deleted outright.
    """
    from rest_framework.authtoken.models import Token

    if user.pk == by.pk:
        raise ServiceError(_("You cannot deactivate your own account."))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    Token.objects.filter(user=user).delete()
    clear_caches(user)
    return user
