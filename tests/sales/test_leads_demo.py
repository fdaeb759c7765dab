"""The leads demo seeder: DESIGN §6 rules, campaigns, web forms, leads in every status (some
converted, some duplicates), role permissions; idempotent."""

from __future__ import annotations

import pytest
from django.db.models import Count

from apps.customers.demo import seed_customers
from apps.org.demo import DemoContext, seed_org
from apps.sales.demo.leads import seed_sales_leads
from apps.sales.models import AssignmentRule, Campaign, Lead, LeadForm, SalesSettings

pytestmark = pytest.mark.django_db


def test_demo_leads_are_spread_routed_by_the_design_rules_and_idempotent():
    ctx = DemoContext(log=lambda msg: None)
    seed_org(ctx)
    seed_customers(ctx)
    seed_sales_leads(ctx)
    assert Campaign.objects.count() == 6 and LeadForm.objects.count() == 2
    rules = list(AssignmentRule.objects.order_by("order"))
    assert [r.strategy for r in rules] == ["territory_owner", "territory_owner", "round_robin"]
    assert SalesSettings.load().fallback_owner.username == "sales_director"
    total = Lead.objects.count()
    assert total >= 200
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {"assigned", "contacted", "qualified", "disqualified", "converted"} <= statuses
    converted = Lead.objects.filter(status="converted")
    assert converted.count() >= 20
    assert not converted.filter(converted_customer__isnull=True).exists()
    assert Lead.objects.filter(duplicate_of__isnull=False).count() >= 5
    originals = Lead.objects.filter(duplicate_of__isnull=True, duplicate_customer__isnull=True)
    by_province = set(
        originals.filter(province__in=["上海", "北京"]).values_list("province", "owner__username")
    )
    assert by_province == {("上海", "sales1"), ("北京", "sales2")}
    others = dict(
        originals.exclude(
            province__in=["上海", "江苏", "浙江", "安徽", "北京", "天津", "河北", "山西"]
        )
        .values_list("owner__username")
        .annotate(n=Count("pk"))
    )
    assert set(others) == {"sales1", "sales2"} and abs(others["sales1"] - others["sales2"]) <= 1
    from apps.org.models import User

    rep = User.objects.get(username="sales1")
    assert rep.has_perm("sales.view_lead") and not rep.has_perm("sales.assign_lead")
    seed_sales_leads(ctx)
    assert Lead.objects.count() == total
