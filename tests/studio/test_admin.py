"""Studio admin: custom fields with choices typed one per line, form layouts."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from apps.studio.models import FieldDefinition, FormLayout
from tests.org.factories import UserFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def field_payload(**overrides):
    data = {
        "content_type": ContentType.objects.get_for_model(Record).pk,
        "key": "level",
        "label": "Level",
        "type": "choice",
        "help_text": "",
        "min_value": "",
        "max_value": "",
        "decimal_places": "2",
        "regex": "",
        "regex_message": "",
        "default": "null",
        "choices_text": "a|A class\nb|B class\nc",
        "section": "",
        "order": "0",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_choice_field_from_lines(admin_client):
    response = admin_client.post("/admin/studio/fielddefinition/add/", field_payload())
    assert response.status_code == 302, response.context["adminform"].form.errors
    d = FieldDefinition.objects.get(key="level")
    assert d.choices == [
        {"value": "a", "label": "A class"},
        {"value": "b", "label": "B class"},
        {"value": "c", "label": "c"},
    ]


def test_choice_field_without_choices_is_refused(admin_client):
    response = admin_client.post(
        "/admin/studio/fielddefinition/add/", field_payload(choices_text="")
    )
    assert response.status_code == 200
    assert "choices_text" in response.context["adminform"].form.errors
    assert not FieldDefinition.objects.exists()


def test_key_shadowing_a_builtin_field_is_refused(admin_client):
    response = admin_client.post(
        "/admin/studio/fielddefinition/add/", field_payload(key="title", type="text")
    )
    assert response.status_code == 200
    assert "key" in response.context["adminform"].form.errors


def test_form_layout_with_sections(admin_client):
    ct = ContentType.objects.get_for_model(Record)
    response = admin_client.post(
        "/admin/studio/formlayout/add/",
        {
            "content_type": ct.pk,
            "hidden_text": "secret",
            "sections-TOTAL_FORMS": "1",
            "sections-INITIAL_FORMS": "0",
            "sections-MIN_NUM_FORMS": "0",
            "sections-MAX_NUM_FORMS": "1000",
            "sections-0-title": "Money",
            "sections-0-order": "1",
            "sections-0-columns": "2",
            "sections-0-fields_text": "amount\ntitle",
        },
    )
    assert response.status_code == 302, response.content
    layout = FormLayout.objects.get(content_type=ct)
    assert layout.hidden_fields == ["secret"]
    assert layout.sections.get().fields == ["amount", "title"]


def test_form_layout_refuses_hiding_a_required_field(admin_client):
    ct = ContentType.objects.get_for_model(Record)
    response = admin_client.post(
        "/admin/studio/formlayout/add/",
        {
            "content_type": ct.pk,
            "hidden_text": "title\nnope",
            "sections-TOTAL_FORMS": "0",
            "sections-INITIAL_FORMS": "0",
            "sections-MIN_NUM_FORMS": "0",
            "sections-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["hidden_text"]
    assert len(errors) == 2
    assert not FormLayout.objects.exists()
