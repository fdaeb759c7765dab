"""custom-fields/ (DESIGN §5): read for anyone signed in, write for staff only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.studio.models import FieldDefinition, FieldType
from tests.studio.factories import FieldDefinitionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/custom-fields/"
DESIGN_FIELDS = {"id", "model", "key", "label", "type", "required", "unique", "choices"}


def detail(d) -> str:
    return f"{URL}{d.pk}/"


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def definition():
    return FieldDefinitionFactory(key="erp_code", label="ERP code", unique=True)


def test_any_signed_in_user_reads(user_client, definition):
    body = user_client.get(URL).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert DESIGN_FIELDS <= set(row)
    assert row["model"] == "testapp.record"
    assert (row["key"], row["label"], row["type"], row["unique"]) == (
        "erp_code",
        "ERP code",
        "text",
        True,
    )
    assert user_client.get(detail(definition)).status_code == 200


def test_anonymous_cannot_read(api_client, definition):
    assert api_client.get(URL).status_code == 401


def test_filter_by_model(user_client, definition):
    assert user_client.get(URL, {"model": "testapp.record"}).json()["count"] == 1
    assert user_client.get(URL, {"model": "testapp.note"}).json()["count"] == 0


VALID = {
    "model": "testapp.record",
    "key": "level",
    "label": "Level",
    "type": "choice",
    "choices": ["gold", "silver"],
    "required": True,
    "default": "gold",
}


class TestNonStaffCannotWrite:
    def test_create(self, user_client):
        assert user_client.post(URL, VALID, format="json").status_code == 403
        assert not FieldDefinition.objects.exists()

    def test_update(self, user_client, definition):
        response = user_client.patch(detail(definition), {"label": "Hacked"}, format="json")
        assert response.status_code == 403
        definition.refresh_from_db()
        assert definition.label == "ERP code"

    def test_delete(self, user_client, definition):
        assert user_client.delete(detail(definition)).status_code == 403
        assert FieldDefinition.objects.filter(pk=definition.pk).exists()

    def test_anonymous(self, api_client, definition):
        assert api_client.post(URL, VALID, format="json").status_code == 401
        assert api_client.delete(detail(definition)).status_code == 401
        assert FieldDefinition.objects.count() == 1


def test_staff_creates(staff_client):
    response = staff_client.post(URL, VALID, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert DESIGN_FIELDS <= set(body)
    assert body["model"] == "testapp.record"
    assert body["choices"] == [
        {"value": "gold", "label": "gold"},
        {"value": "silver", "label": "silver"},
    ]
    d = FieldDefinition.objects.get()
    assert (d.key, d.type, d.required, d.default) == ("level", FieldType.CHOICE, True, "gold")
    assert d.content_type.model_class().__name__ == "Record"


def test_staff_updates_and_deletes(staff_client, definition):
    response = staff_client.patch(
        detail(definition), {"label": "ERP", "required": True}, format="json"
    )
    assert response.status_code == 200, response.content
    definition.refresh_from_db()
    assert (definition.label, definition.required) == ("ERP", True)

    assert staff_client.delete(detail(definition)).status_code == 204
    assert not FieldDefinition.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**VALID, "model": "testapp.nope"}, "model"),
        ({**VALID, "model": "testapp.note"}, "model"),  # a model without custom fields
        ({**VALID, "model": "record"}, "model"),
        ({**VALID, "type": "colour"}, "type"),
        ({**VALID, "type": "text", "regex": "([a-"}, "regex"),
        ({**VALID, "choices": []}, "choices"),
        ({**{k: v for k, v in VALID.items() if k != "choices"}}, "choices"),
        ({**VALID, "choices": ["a", "a"]}, "choices"),
        ({**VALID, "key": "title"}, "key"),
        ({**VALID, "key": "Bad Key"}, "key"),
        ({**VALID, "default": "bronze"}, "default"),
        ({**VALID, "type": "boolean", "unique": True}, "unique"),
        ({**VALID, "label": ""}, "label"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_creates_nothing(staff_client, payload, field):
    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert all(isinstance(m, str) for m in response.json()[field])
    assert not FieldDefinition.objects.exists()


def test_duplicate_key_is_400(staff_client, definition):
    response = staff_client.post(URL, {**VALID, "key": "erp_code"}, format="json")
    assert response.status_code == 400
    assert FieldDefinition.objects.count() == 1


def test_key_and_model_cannot_change(staff_client, definition):
    response = staff_client.patch(detail(definition), {"key": "other"}, format="json")
    assert response.status_code == 400
    assert "key" in response.json()
    definition.refresh_from_db()
    assert definition.key == "erp_code"


def test_new_definitions_apply_at_once(staff_client, user_client):
    """Definitions are cached; writing one through the API is seen by the next request."""
    assert staff_client.post(URL, VALID, format="json").status_code == 201
    from apps.studio.registry import definitions_for
    from tests.testapp.models import Record

    assert [d.key for d in definitions_for(Record)] == ["level"]
    staff_client.patch(detail(FieldDefinition.objects.get()), {"active": False}, format="json")
    assert definitions_for(Record) == []
