from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from apps.approvals.models import ApprovalStep, ApprovalTemplate, ApproverType, Kind, SignMode
from tests.org.factories import DepartmentFactory, UserFactory  # noqa: F401 - re-exported


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalTemplate
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"tpl{n}")
    name = factory.LazyAttribute(lambda t: f"Template {t.code}")
    kind = Kind.GENERAL
    active = True


class StepFactory(factory.django.DjangoModelFactory):
    """A step; pass `users=[...]`, `cc_users=[...]`, `cc_roles=[...]` for the M2Ms."""

    class Meta:
        model = ApprovalStep
        skip_postgeneration_save = True

    template = factory.SubFactory(TemplateFactory)
    order = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"Step {n}")
    approver_type = ApproverType.USERS
    mode = SignMode.ORSIGN
    condition = factory.LazyFunction(dict)

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if create and extracted:
            self.approver_users.set(extracted)

    @factory.post_generation
    def cc_users(self, create, extracted, **kwargs):
        if create and extracted:
            self.cc_users.set(extracted)

    @factory.post_generation
    def cc_roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.cc_roles.set(extracted)


def role_with(name: str, *members) -> Group:
    group, _created = Group.objects.get_or_create(name=name)
    for m in members:
        m.groups.add(group)
    return group


def template_with_steps(
    code: str, *steps: dict, kind: str = Kind.GENERAL, **kwargs
) -> ApprovalTemplate:
    """`steps`: dicts of StepFactory kwargs, in order."""
    template = TemplateFactory(code=code, kind=kind, **kwargs)
    for order, step in enumerate(steps):
        StepFactory(template=template, order=order, **{"name": f"S{order + 1}", **step})
    return template


def amount_rule(op: str, value) -> dict:
    return {"match": "all", "rules": [{"field": "amount", "op": op, "value": str(value)}]}


ZERO = Decimal("0.00")
