"""Field-security rules the walker relies on (tests/history/test_field_security_everywhere.py):
a record's name is not securable, filters on hidden fields are dropped, and a model without
data scopes is decided by its model permission."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied

from apps.customers.filters import CustomerFilter
from apps.customers.models import Customer
from apps.org.admin import FieldPolicyForm
from apps.org.errors import ServiceError
from apps.org.fields import field_access, record_name_fields, securable_fields
from apps.org.models import FieldPolicy, Scope
from apps.org.services import field_policy_set
from apps.sales.models import Contract, Product
from apps.sales.services import deals_quotes
from tests.customers.factories import CustomerFactory
from tests.org.factories import UserFactory, make_role
from tests.sales.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "names"),
    [(Customer, {"name", "name_pinyin"}), (Contract, {"number", "title"})],
)
def test_a_records_name_is_not_securable(model, names):
    assert names <= set(record_name_fields(model))
    assert not names & {n for n, _label in securable_fields(model)}
    for name in names:
        with pytest.raises(ServiceError) as exc:
            field_policy_set(model=model, field_name=name)
        assert "names the record" in str(exc.value)
    assert not FieldPolicy.objects.exists()


def test_the_policy_form_refuses_a_name_field_and_says_why():
    ct = ContentType.objects.get_for_model(Customer)
    form = FieldPolicyForm({"content_type": ct.pk, "field_name": "name", "restrict_view": "on"})
    assert not form.is_valid()
    assert "cannot be restricted" in str(form.errors["field_name"])
    assert "cannot be restricted" in str(form.fields["field_name"].help_text)
    ok = FieldPolicyForm({"content_type": ct.pk, "field_name": "phone", "restrict_view": "on"})
    assert ok.is_valid(), ok.errors


def test_a_policy_row_on_a_name_field_made_before_the_rule_restricts_nothing():
    reader = UserFactory()
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Customer), field_name="name"
    )
    assert field_access(reader, Customer).can_view("name")


def test_filters_on_hidden_fields_are_dropped_for_that_user_only():
    reader = make_reader()
    boss = UserFactory(is_superuser=True)
    field_policy_set(model=Customer, field_name="city")
    field_policy_set(model=Customer, field_name="created_at")
    CustomerFactory(city="杭州")
    CustomerFactory(city="苏州")

    data = {"city": "杭州", "created_at__gte": "2000-01-01"}
    hidden = CustomerFilter(data, Customer.objects.all(), user=reader)
    assert "city" not in hidden.filters
    assert "created_at__gte" not in hidden.filters
    assert "status" in hidden.filters
    assert hidden.qs.count() == 2  # the parameter is ignored: it cannot tell the value

    shown = CustomerFilter(data, Customer.objects.all(), user=boss)
    assert "city" in shown.filters
    assert shown.qs.count() == 1


def make_reader():
    reader = UserFactory()
    make_role("readers", Customer, actions=("view",), scope=Scope.ALL, members=[reader])
    return reader


def test_a_model_without_data_scopes_is_changed_on_its_model_permission():
    """Products have no owner or department: `has_perm(perm, product)` used to be a 500."""
    clerk = UserFactory()
    make_role("catalogue", Product, actions=("view", "change"), members=[clerk])
    product = ProductFactory(price=Decimal("10.00"))
    deals_quotes.product_update(product=product, by=clerk, data={"price": Decimal("12.00")})
    product.refresh_from_db()
    assert product.price == Decimal("12.00")
    outsider = UserFactory()
    with pytest.raises(PermissionDenied):
        deals_quotes.product_update(product=product, by=outsider, data={"price": Decimal("1")})
    product.refresh_from_db()
    assert product.price == Decimal("12.00")
