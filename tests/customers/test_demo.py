"""The demo seeder: DESIGN §6 territories, roles and scopes, data spread, idempotent."""

from __future__ import annotations

import pytest
from django.db.models import Count

from apps.customers.demo import seed_customers
from apps.customers.models import Contact, Customer, FollowUp, Territory, Ticket
from apps.customers.services import territory_for_province
from apps.org.demo import DemoContext, seed_org

pytestmark = pytest.mark.django_db


def seed() -> DemoContext:
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_customers(ctx)
    return ctx


def test_demo_data_is_spread_and_idempotent():
    ctx = seed()
    counts = (Customer.objects.count(), Contact.objects.count(), FollowUp.objects.count())
    assert counts[0] == 320 and counts[1] > 400 and counts[2] > 500
    assert Customer.objects.in_pool().count() > 10
    owners = dict(Customer.objects.values_list("owner__username").annotate(n=Count("pk")))
    assert owners["sales1"] > 50 and owners["sales2"] > 50
    assert set(Customer.objects.values_list("level", flat=True)) == {"A", "B", "C", "D"}
    assert Customer.objects.values("province").distinct().count() >= 10
    assert Customer.objects.values("industry").distinct().count() >= 8
    assert set(Ticket.objects.values_list("status", flat=True)) == {
        "new",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
    }
    assert Ticket.objects.filter(satisfaction__isnull=False).exists()
    assert Customer.objects.filter(satisfaction_count__gt=0).exists()
    # Every customer has exactly one primary contact, pinyin keys are filled.
    assert not Customer.objects.annotate(n=Count("contacts")).filter(n=0).exists()
    assert Contact.objects.filter(is_primary=True).count() == counts[0]
    assert not Contact.objects.filter(name_pinyin="").exists()
    assert not Customer.objects.filter(name_initials="").exists()

    seed_customers(ctx)
    assert (Customer.objects.count(), Contact.objects.count(), FollowUp.objects.count()) == counts


def test_territories_follow_design_section_6():
    ctx = seed()
    assert territory_for_province("上海").owner_id == ctx.users["sales1"].pk
    assert territory_for_province("山西").owner_id == ctx.users["sales2"].pk
    assert territory_for_province("上海").region == "华东"
    owners = {territory_for_province(p).owner.username for p in ("广东", "湖南", "四川", "江西")}
    assert owners == {"sales1", "sales2"}
    assert Territory.objects.count() == 4
    sh = Customer.objects.filter(province="上海").first()
    assert sh.region == "华东" and sh.territory.name == "华东"


def test_demo_roles_see_what_design_section_6_says():
    ctx = seed()
    u = ctx.users
    total = Customer.objects.count()
    pool = Customer.objects.in_pool().count()
    assert Customer.objects.visible_to(u["ceo"]).count() == total
    assert Customer.objects.visible_to(u["finance"]).count() == total
    assert Customer.objects.visible_to(u["service"]).count() == total
    assert Customer.objects.visible_to(u["sales_director"]).count() == total
    sales1 = Customer.objects.visible_to(u["sales1"])
    assert sales1.count() == Customer.objects.filter(owner=u["sales1"]).count() + pool
    assert not u["service"].has_perm(
        "customers.change_customer", sales1.exclude(owner=None).first()
    )
    assert u["service"].has_perm("customers.change_ticket", Ticket.objects.first())
    assert Customer.objects.visible_to(u["hr"]).count() == 0
