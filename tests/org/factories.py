from __future__ import annotations

import factory
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from apps.org.models import Department, User
from apps.org.services import role_scope_set

PASSWORD = "s3cret-pass-9"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("parent", "name")

    name = factory.Sequence(lambda n: f"Department {n}")
    parent = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    department = None
    is_active = True
    password = factory.django.Password(PASSWORD)


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Role {n}")


def permission(model, codename: str) -> Permission:
    ct = ContentType.objects.get_for_model(model)
    return Permission.objects.get(content_type=ct, codename=codename)


def make_role(
    name: str, model, *, actions=("view",), codenames=(), scope: str | None = None, members=()
) -> Group:
    """A role with model permissions (`view`, `change`, …) on `model`, any other permissions of
    the model by codename (field permissions), and an optional data scope."""
    role = RoleFactory(name=name)
    for action in actions:
        role.permissions.add(permission(model, f"{action}_{model._meta.model_name}"))
    for codename in codenames:
        role.permissions.add(permission(model, codename))
    if scope is not None:
        role_scope_set(role=role, model=model, scope=scope)
    for member in members:
        member.groups.add(role)
    return role
