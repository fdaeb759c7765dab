"""Factories of the customers app. Customers are saved through the model (the derived columns
are computed by `Customer.save`); use the services when a test is about business rules."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.customers.models import (
    ClaimLimit,
    Contact,
    Customer,
    FollowUp,
    PoolRule,
    SLARule,
    Territory,
    Ticket,
)
from tests.org.factories import DepartmentFactory, RoleFactory, UserFactory  # noqa: F401


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"客户{n}号科技有限公司")
    owner = None
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)
    level = Customer.Level.C
    province = "上海"
    owned_since = factory.LazyAttribute(lambda c: timezone.now() if c.owner else None)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            from apps.customers.services.customers import _tags_named

            self.tags.set(_tags_named(extracted))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    owner = factory.LazyAttribute(lambda f: f.customer.owner or UserFactory())
    kind = FollowUp.Kind.CALL
    content = "电话沟通需求"


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    customer = factory.SubFactory(CustomerFactory)
    title = factory.Sequence(lambda n: f"Ticket {n}")
    priority = Ticket.Priority.NORMAL


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Territory {n}")
    provinces = factory.LazyFunction(list)


class PoolRuleFactory(factory.django.DjangoModelFactory):
    """Migration 0002 creates a rule per level: this one replaces it."""

    class Meta:
        model = PoolRule

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        model_class.objects.filter(level=kwargs["level"]).delete()
        return super()._create(model_class, *args, **kwargs)

    level = Customer.Level.C
    days = 30
    warn_days = 3


class ClaimLimitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimLimit
        django_get_or_create = ("role",)

    max_customers = 2


class SLARuleFactory(factory.django.DjangoModelFactory):
    """Migration 0002 creates a rule per priority: this one replaces it."""

    class Meta:
        model = SLARule

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        model_class.objects.filter(priority=kwargs["priority"]).delete()
        return super()._create(model_class, *args, **kwargs)

    priority = Ticket.Priority.NORMAL
    response_hours = 8
    resolve_hours = 72


def customer_field(**kwargs):
    """A custom field on Customer (validated like the admin does)."""
    from django.contrib.contenttypes.models import ContentType

    from tests.studio.factories import FieldDefinitionFactory

    model = kwargs.pop("model", Customer)
    return FieldDefinitionFactory(content_type=ContentType.objects.get_for_model(model), **kwargs)
