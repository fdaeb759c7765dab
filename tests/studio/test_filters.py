"""CustomFieldsFilterSetMixin through the test Record endpoint: custom__<key> filters, and
hidden fields refused as filter and sort keys (they would leak through ordering)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.org import services
from apps.org.models import Scope
from apps.studio.models import FieldType
from tests.org.factories import UserFactory, make_role
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.api import RecordFilter
from tests.testapp.models import Record

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.testapp.urls")]

LIST = "/api/v1/test/records/"


@pytest.fixture
def client():
    user = UserFactory(username="viewer")
    make_role("all", Record, scope=Scope.ALL, members=[user])
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def records():
    FieldDefinitionFactory(key="name", type=FieldType.TEXT)
    FieldDefinitionFactory(key="qty", type=FieldType.INTEGER)
    FieldDefinitionFactory(key="price", type=FieldType.DECIMAL)
    FieldDefinitionFactory(key="day", type=FieldType.DATE)
    FieldDefinitionFactory(key="at", type=FieldType.DATETIME)
    FieldDefinitionFactory(key="tags", type=FieldType.MULTICHOICE, choices=["a", "b", "ab"])
    FieldDefinitionFactory(key="level", type=FieldType.CHOICE, choices=["x", "y"])
    FieldDefinitionFactory(key="vip", type=FieldType.BOOLEAN)
    FieldDefinitionFactory(key="buddy", type=FieldType.USER)
    FieldDefinitionFactory(key="salary", type=FieldType.DECIMAL)
    buddy = UserFactory(username="buddy")
    RecordFactory(
        title="one",
        custom={
            "name": "Alpha",
            "qty": 5,
            "price": "10.50",
            "day": "2024-01-10",
            "at": "2024-01-10T02:00:00+00:00",
            "tags": ["a", "b"],
            "level": "x",
            "vip": True,
            "buddy": buddy.pk,
            "salary": "100.00",
        },
    )
    RecordFactory(
        title="two",
        custom={
            "name": "Beta",
            "qty": 15,
            "price": "2.00",
            "day": "2024-03-01",
            "at": "2024-03-01T02:00:00+00:00",
            "tags": ["ab"],
            "level": "y",
            "vip": False,
            "salary": "900.00",
        },
    )
    RecordFactory(title="three", custom={})
    return {"buddy": buddy}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(r["title"] for r in response.json()["results"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"custom__name": "Alpha"}, ["one"]),
        ({"custom__qty": "5"}, ["one"]),
        ({"custom__qty__gte": "10"}, ["two"]),
        ({"custom__qty__lte": "10"}, ["one"]),
        ({"custom__qty__gte": "5", "custom__qty__lte": "15"}, ["one", "two"]),
        ({"custom__price": "10.5"}, ["one"]),
        ({"custom__price__gte": "3"}, ["one"]),
        ({"custom__price__lte": "10.50"}, ["one", "two"]),
        ({"custom__day": "2024-01-10"}, ["one"]),
        ({"custom__day__gte": "2024-02-01"}, ["two"]),
        ({"custom__day__lte": "2024-02-01"}, ["one"]),
        ({"custom__at__gte": "2024-02-01"}, ["two"]),
        ({"custom__tags": "a"}, ["one"]),
        ({"custom__tags": "ab"}, ["two"]),
        ({"custom__tags": "b"}, ["one"]),
        ({"custom__level": "y"}, ["two"]),
        ({"custom__vip": "true"}, ["one"]),
        ({"custom__vip": "false"}, ["two"]),
        ({"custom__name": "Alpha", "title": "two"}, []),
    ],
)
def test_custom_filters(client, records, params, expected):
    assert titles(client.get(LIST, params)) == expected


def test_user_filter(client, records):
    assert titles(client.get(LIST, {"custom__buddy": records["buddy"].pk})) == ["one"]


@pytest.mark.parametrize(
    "params", [{"custom__qty": "many"}, {"custom__price__gte": "x"}, {"custom__buddy": "someone"}]
)
def test_malformed_filter_values_are_400(client, records, params):
    response = client.get(LIST, params)
    assert response.status_code == 400
    assert list(response.json()) == list(params)


def test_filterset_offers_the_documented_filters(records):
    names = set(RecordFilter(queryset=Record.objects.all()).filters)
    assert {
        "custom__qty",
        "custom__qty__gte",
        "custom__qty__lte",
        "custom__price",
        "custom__price__gte",
        "custom__price__lte",
        "custom__day__gte",
        "custom__day__lte",
        "custom__tags",
        "custom__vip",
        "custom__buddy",
        "custom__name",
    } <= names


class TestHiddenFields:
    @pytest.fixture(autouse=True)
    def restrict(self, records):
        services.field_policy_set(model=Record, field_name="secret")
        services.field_policy_set(model=Record, field_name="salary")
        services.field_policy_set(model=Record, field_name="amount", restrict_view=False)

    @pytest.mark.parametrize(
        ("params", "refused"),
        [
            ({"secret": "x"}, ["secret"]),
            ({"secret__icontains": "x"}, ["secret"]),
            ({"ordering": "secret"}, ["secret"]),
            ({"ordering": "title,-secret"}, ["secret"]),
            ({"custom__salary": "100"}, ["salary"]),
            ({"custom__salary__gte": "100"}, ["salary"]),
            ({"ordering": "-custom__salary"}, ["salary"]),
            ({"secret": "x", "custom__salary": "1"}, ["salary", "secret"]),
        ],
    )
    def test_filtering_or_sorting_by_a_hidden_field_is_400(self, client, params, refused):
        response = client.get(LIST, params)
        assert response.status_code == 400
        assert response.json() == {
            name: ["You are not allowed to filter or sort by this field."] for name in refused
        }

    def test_hidden_custom_filters_are_not_offered(self, client):
        viewer = UserFactory(username="plain")
        request = type("R", (), {"user": viewer})()
        names = set(RecordFilter(queryset=Record.objects.all(), request=request).filters)
        assert "custom__salary" not in names and "custom__salary__gte" not in names
        assert "custom__price" in names

    def test_read_only_fields_may_be_filtered_and_sorted(self, client):
        assert client.get(LIST, {"ordering": "-amount"}).status_code == 200

    def test_holders_of_the_view_permission_may_filter(self, records):
        reader = UserFactory(username="reader")
        make_role(
            "readers", Record, scope=Scope.ALL, codenames=["view_record__salary"], members=[reader]
        )
        c = APIClient()
        c.force_authenticate(reader)
        assert titles(c.get(LIST, {"custom__salary__gte": "500"})) == ["two"]
