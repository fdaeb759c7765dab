"""Field-level change history: who, when, field, old → new; field security on the entries;
bulk paths and imports; the History page's scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.test import APIClient

from apps.customers import services
from apps.customers.models import Customer
from apps.org.history import history_entries
from apps.org.models import FieldPolicy
from tests.customers.factories import CustomerFactory, PoolRuleFactory
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def changes(entries):
    return [(c.name, c.old, c.new) for e in entries for c in e.changes]


def test_api_edit_leaves_who_when_old_and_new(org):
    customer = services.customer_create(by=org.rep, data={"name": "甲公司", "phone": "1"})
    res = api(org.rep).patch(
        f"/api/v1/customers/{customer.pk}/", {"name": "乙公司", "level": "A"}, format="json"
    )
    assert res.status_code == 200, res.content
    entries = history_entries(customer, user=org.rep)
    latest = entries[0]
    assert latest.actor == org.rep
    assert latest.kind == "changed"
    assert ("name", "甲公司", "乙公司") in changes([latest])
    assert ("level", "C · normal", "A · key account") in changes([latest])  # display values
    assert entries[-1].kind == "created"


def test_restricted_field_values_are_hidden_from_who_may_not_see_it(org):
    customer = services.customer_create(by=org.rep, data={"name": "甲公司", "phone": "111"})
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        field_name="phone",
        restrict_view=True,
    )
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert (
        api(admin)
        .patch(f"/api/v1/customers/{customer.pk}/", {"phone": "222", "city": "上海"}, format="json")
        .status_code
        == 200
    )
    seen_by_rep = changes(history_entries(customer, user=org.rep))
    assert ("city", "—", "上海") in seen_by_rep
    assert not [c for c in seen_by_rep if c[0] == "phone"]
    assert ("phone", "111", "222") in changes(history_entries(customer, user=admin))
    # The page says the same.
    from django.test import Client

    client = Client()
    client.force_login(org.rep)
    body = client.get(f"/org/history/customers/customer/{customer.pk}/").content.decode()
    assert "上海" in body and "222" not in body and "111" not in body


def test_history_page_is_scoped_and_partial_for_htmx(org, client):
    customer = services.customer_create(by=org.rep, data={"name": "甲公司"})
    url = f"/org/history/customers/customer/{customer.pk}/"
    assert client.get(url).status_code == 302  # anonymous → sign in
    client.force_login(org.rep_north)  # another team, own scope
    assert client.get(url).status_code == 404
    client.force_login(org.nobody)
    assert client.get(url).status_code == 404
    client.force_login(org.rep)
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.content.decode()
    part = client.get(url, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.content.decode()
    assert "data-history" in part.content.decode()
    assert client.get("/org/history/customers/tag/1/").status_code == 404  # keeps no history
    assert client.get("/org/history/nope/none/1/").status_code == 404
    # The 360° page loads it as a tab.
    assert url in client.get(f"/customers/{customer.pk}/").content.decode()


def test_pool_recycling_bulk_update_leaves_history(org):
    PoolRuleFactory(level="C", days=30, warn_days=3)
    c = CustomerFactory(owner=org.rep, level="C")
    long_ago = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk=c.pk).update(
        last_contacted_at=long_ago, owned_since=long_ago, created_at=long_ago
    )
    before = c.history.count()
    services.pool_recycle()
    c.refresh_from_db()
    assert c.owner is None
    assert c.history.count() == before + 1
    latest = history_entries(c, user=org.ceo)[0]
    assert latest.actor is None  # the scheduled job
    assert ("owner", str(org.rep), "—") in changes([latest])


def test_bulk_import_leaves_created_rows(org):
    made = services.customer_bulk_import(
        by=org.rep, customers=[Customer(name="导入一"), Customer(name="导入二")]
    )
    for c in made:
        rows = list(c.history.all())
        assert [r.history_type for r in rows] == ["+"]
        assert rows[0].history_user == org.rep
