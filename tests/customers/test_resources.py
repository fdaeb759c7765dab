"""Excel import/export resources: per-row errors (duplicates against the database and within
the file), all-or-nothing commit, labels as headers, field security, formula safety."""

from __future__ import annotations

import pytest
import tablib
from django.utils import translation

from apps.customers.models import Contact, Customer, CustomerEvent
from apps.customers.resources import ContactResource, CustomerResource
from apps.org.services import field_policy_set

from .factories import CustomerFactory, customer_field

pytestmark = pytest.mark.django_db


def dataset(headers, *rows) -> tablib.Dataset:
    return tablib.Dataset(*rows, headers=headers)


def row_errors(result) -> dict[int, dict]:
    """{row number: {field: [messages]}} of the invalid rows."""
    out = {}
    for row in result.invalid_rows:
        out[row.number] = {k: [str(m) for m in v] for k, v in row.error_dict.items()}
    return out


def test_import_creates_customers_with_history_tags_and_keys(org):
    data = dataset(
        ["name", "level", "industry", "province", "phone", "tags", "owner"],
        ["上海张三贸易有限公司", "A", "制造业", "上海", "021-1234 5678", "VIP, 展会", ""],
        ["Acme Co., Ltd.", "B · important", "IT and software", "北京", "", "", "rep_peer"],
    )
    result = CustomerResource(user=org.director).import_data(data, dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    a = Customer.objects.get(name="上海张三贸易有限公司")
    assert (a.level, a.industry, a.owner, a.department) == (
        "A",
        "manufacturing",
        org.director,
        org.sales,
    )
    assert (a.name_normalized, a.name_initials, a.phone_digits) == (
        "上海张三贸易",
        "shzsmy",
        "02112345678",
    )
    assert sorted(a.tags.values_list("name", flat=True)) == ["VIP", "展会"]
    b = Customer.objects.get(name="Acme Co., Ltd.")
    assert (b.level, b.industry, b.owner) == ("B", "it", org.rep_peer)
    assert CustomerEvent.objects.filter(kind="created", payload__import=True).count() == 2


def test_headers_may_be_labels_in_either_language(org):
    data = dataset(["名称", "Level", "省份"], ["杭州某公司", "C", "浙江"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert not result.has_validation_errors(), row_errors(result)
    assert Customer.objects.get().province == "浙江"
    with translation.override("zh-hans"):
        headers = CustomerResource(user=org.rep).export(queryset=Customer.objects.all()).headers
    assert "名称" in headers and "name" not in headers


def test_duplicates_against_the_database_and_within_the_file_are_row_errors(org):
    CustomerFactory(name="北京华东机电有限公司", owner=org.rep_north)
    data = dataset(
        ["name", "level"],
        ["新客户甲", "A"],
        ["北京 华东 机电", "A"],  # row 2: exists already
        ["新客户乙", "Z"],  # row 3: bad choice
        ["新客户甲有限公司", "B"],  # row 4: same as row 1
        ["", "A"],  # row 5: no name
    )
    resource = CustomerResource(user=org.rep)
    result = resource.import_data(data, dry_run=True)

    errors = row_errors(result)
    assert set(errors) == {2, 3, 4, 5}
    assert "北京华东机电有限公司" in errors[2]["name"][0]
    assert "level" in errors[3]
    assert "row 1" in errors[4]["name"][0]
    assert "name" in errors[5]
    assert Customer.objects.count() == 1


def test_commit_is_all_or_nothing(org):
    data = dataset(["name", "owner"], ["好客户", ""], ["坏客户", "no-such-user"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert result.has_validation_errors()
    assert not Customer.objects.exists() and not CustomerEvent.objects.exists()


def test_import_for_others_needs_assign(org):
    data = dataset(["name", "owner"], ["给同事的客户", "rep_peer"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert result.has_errors()
    assert not Customer.objects.exists()


def test_custom_columns_import_and_export(org):
    customer_field(key="erp", label="ERP编号")
    data = dataset(["name", "ERP编号"], ["客户甲", "E-1"])
    result = CustomerResource(user=org.rep).import_data(data, dry_run=False)
    assert not result.has_validation_errors(), row_errors(result)
    assert Customer.objects.get().custom == {"erp": "E-1"}
    exported = CustomerResource(user=org.rep).export(queryset=Customer.objects.all())
    assert exported.dict[0]["ERP编号"] == "E-1"


def test_export_drops_hidden_fields_and_neutralises_formulas(org):
    CustomerFactory(owner=org.rep, name="@SUM(A1:A9)", phone="=1+1", tags=["-x"])
    field_policy_set(model=Customer, field_name="email")
    with translation.override("en"):
        data = CustomerResource(user=org.rep).export(queryset=Customer.objects.all())
    row = data.dict[0]
    assert "email" not in data.headers and "Email" not in data.headers
    assert row["name"] == "'@SUM(A1:A9)" and row["phone"] == "'=1+1" and row["tags"] == "'-x"
    with translation.override("en"):
        full = CustomerResource(user=org.director).export(queryset=Customer.objects.all())
    assert "email" not in full.headers  # the director holds no field permission either
    assert "email" in CustomerResource(user=None).export(queryset=Customer.objects.all()).headers


def test_contacts_import_by_customer_name(org):
    CustomerFactory(owner=org.rep, name="上海张三贸易有限公司")
    CustomerFactory(owner=org.rep_north, name="别人的客户")
    data = dataset(
        ["customer", "name", "mobile", "is_primary"],
        ["上海张三贸易", "张三", "13900001111", "1"],
        ["上海张三贸易（有限公司）", "李四", "", "0"],
        ["别人的客户", "王五", "", ""],
    )
    result = ContactResource(user=org.rep).import_data(data, dry_run=True)
    assert set(row_errors(result)) == {3}
    assert not Contact.objects.exists()

    ok = dataset(data.headers, data[0], data[1])
    result = ContactResource(user=org.rep).import_data(ok, dry_run=False)
    assert not result.has_validation_errors() and not result.has_errors()
    contacts = {c.name: c for c in Contact.objects.all()}
    assert contacts["张三"].is_primary and not contacts["李四"].is_primary
    assert contacts["张三"].name_initials == "zs"
