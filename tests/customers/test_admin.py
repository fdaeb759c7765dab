"""Admin pages of the customers app load, search and edit the settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.customers import services
from apps.customers.models import (
    ClaimLimit,
    Contact,
    Customer,
    CustomerEvent,
    FollowUp,
    PoolRule,
    SLARule,
    Tag,
    Territory,
    Ticket,
)
from tests.org.factories import UserFactory

from .factories import ContactFactory, FollowUpFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

MODELS = [
    Customer,
    Contact,
    FollowUp,
    CustomerEvent,
    Tag,
    Territory,
    PoolRule,
    ClaimLimit,
    SLARule,
    Ticket,
]


@pytest.fixture
def admin_client(client, org):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    c = services.customer_create(
        by=org.rep, data={"name": "张三科技", "province": "上海"}, tags=["VIP"]
    )
    ContactFactory(customer=c)
    FollowUpFactory(customer=c, owner=org.rep)
    services.ticket_create(customer=c, by=org.rep, data={"title": "t"}, assignee=org.rep)
    TerritoryFactory(name="华东", provinces=["上海"])
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelists_and_change_pages_load(admin_client, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "zs"}).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200


def test_customer_search_by_initials(admin_client):
    res = admin_client.get(reverse("admin:customers_customer_changelist"), {"q": "zskj"})
    assert "张三科技" in res.content.decode()


def test_admin_refuses_a_duplicate_name(admin_client, org):
    url = reverse("admin:customers_customer_add")
    res = admin_client.post(
        url,
        {
            "name": "张三科技有限公司",
            "level": "C",
            "status": "potential",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert res.status_code == 200
    assert "already exists" in res.content.decode()
    assert Customer.objects.count() == 1


def test_territory_provinces_are_edited_as_text_and_checked(admin_client):
    url = reverse("admin:customers_territory_add")
    res = admin_client.post(
        url,
        {"name": "长三角", "region": "", "provinces": "江苏，上海", "order": "0", "active": "on"},
    )
    assert res.status_code == 200 and "上海" in res.content.decode()
    res = admin_client.post(
        url, {"name": "华南", "region": "", "provinces": "广东、广西", "order": "0", "active": "on"}
    )
    assert res.status_code == 302
    assert Territory.objects.get(name="华南").provinces == ["广东", "广西"]


def test_pool_rules_are_editable_in_the_list(admin_client):
    rule = PoolRule.objects.get(level="C")
    url = reverse("admin:customers_poolrule_change", args=[rule.pk])
    res = admin_client.post(url, {"level": "C", "days": "45", "warn_days": "5", "active": "on"})
    assert res.status_code == 302
    rule.refresh_from_db()
    assert (rule.days, rule.warn_days) == (45, 5)
    res = admin_client.post(url, {"level": "C", "days": "5", "warn_days": "9", "active": "on"})
    assert res.status_code == 200  # warning after the recycling day: refused
