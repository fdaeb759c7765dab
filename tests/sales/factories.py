"""Factories of the sales app. Rows are saved through the model; use the services when a test
is about business rules (assignment, conversion, stage moves, payments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from apps.sales.models import (
    AssignmentRule,
    Campaign,
    Contract,
    Invoice,
    Lead,
    LeadForm,
    Opportunity,
    Payment,
    PaymentPlan,
    Pipeline,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    Stage,
)
from tests.customers.factories import CustomerFactory
from tests.org.factories import UserFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"活动{n}")
    channel = Campaign._meta.get_field("channel").choices[0][0]
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    budget = Decimal("10000.00")
    cost = Decimal("8000.00")


class LeadFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadForm

    name = factory.Sequence(lambda n: f"官网表单{n}")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    company = factory.Sequence(lambda n: f"线索{n}号贸易有限公司")
    contact_name = factory.Sequence(lambda n: f"王{n}")
    mobile = factory.Sequence(lambda n: f"137{n:08d}")
    province = "上海"
    owner = None
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)
    status = factory.LazyAttribute(lambda c: Lead.Status.ASSIGNED if c.owner else Lead.Status.NEW)


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"rule {n}")
    order = factory.Sequence(lambda n: n)

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if create and extracted:
            self.users.set(extracted)


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"pipeline {n}")

    @factory.post_generation
    def with_stages(self, create, extracted, **kwargs):
        """`PipelineFactory(with_stages=True)`: 初步接洽 10% … 赢单 100% / 输单 0%."""
        if create and extracted:
            for order, (name, prob, won, lost) in enumerate(
                [
                    ("初步接洽", 10, False, False),
                    ("需求确认", 30, False, False),
                    ("方案报价", 60, False, False),
                    ("谈判", 80, False, False),
                    ("赢单", 100, True, False),
                    ("输单", 0, False, True),
                ],
                start=1,
            ):
                Stage.objects.create(
                    pipeline=self,
                    name=name,
                    order=order,
                    probability=prob,
                    is_won=won,
                    is_lost=lost,
                )


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"stage {n}")
    order = factory.Sequence(lambda n: n)
    probability = 20


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"商机{n}")
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda o: o.owner.department if o.owner else None)
    customer = factory.LazyAttribute(lambda o: CustomerFactory(owner=o.owner))
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.LazyAttribute(lambda o: o.stage.pipeline)
    probability = factory.LazyAttribute(lambda o: o.stage.probability)
    amount = Decimal("100000.00")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))


class ProductCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductCategory
        django_get_or_create = ("name",)

    name = "软件"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    category = factory.SubFactory(ProductCategoryFactory)
    price = Decimal("1000.00")


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    number = factory.Sequence(lambda n: f"BJ-TEST-{n:06d}")
    title = factory.Sequence(lambda n: f"报价{n}")
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda q: q.owner.department if q.owner else None)
    customer = factory.LazyAttribute(lambda q: CustomerFactory(owner=q.owner))


class QuoteLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuoteLine

    quote = factory.SubFactory(QuoteFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("1")
    unit_price = factory.LazyAttribute(lambda li: li.product.price if li.product else Decimal(0))
    discount = Decimal("0")
    amount = factory.LazyAttribute(
        lambda li: (li.quantity * li.unit_price * (100 - li.discount) / 100).quantize(
            Decimal("0.01")
        )
    )


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"HT-TEST-{n:06d}")
    title = factory.Sequence(lambda n: f"合同{n}")
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)
    customer = factory.LazyAttribute(lambda c: CustomerFactory(owner=c.owner))
    amount = Decimal("100000.00")


class PaymentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentPlan

    contract = factory.SubFactory(ContractFactory)
    seq = factory.Sequence(lambda n: n % 30000 + 1)
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    amount = Decimal("50000.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    """Saves the payment row only; `contract.received_amount` is kept by the payment service —
    use `payment_record` when the contract's totals matter."""

    class Meta:
        model = Payment

    contract = factory.SubFactory(ContractFactory)
    amount = Decimal("10000.00")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    contract = factory.SubFactory(ContractFactory)
    title = factory.LazyAttribute(lambda i: i.contract.customer.name)
    amount = Decimal("10000.00")
