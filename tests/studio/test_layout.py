"""Detail pages (apps.studio.layout) and the registry of models with custom fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.org import services
from apps.org.models import Scope, User
from apps.studio.layout import detail_sections
from apps.studio.models import FieldType
from apps.studio.registry import is_registered, layout_for, model_choices, registered_models
from tests.org.factories import UserFactory, make_role
from tests.studio.factories import (
    FieldDefinitionFactory,
    FormLayoutFactory,
    FormSectionFactory,
    RecordFactory,
)
from tests.testapp.models import Note, Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    user = UserFactory(username="rep")
    make_role("reps", Record, scope=Scope.ALL, members=[user])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def record():
    FieldDefinitionFactory(
        key="level", label="Level", type=FieldType.CHOICE, choices=["a|Alpha"], order=1
    )
    FieldDefinitionFactory(key="salary", label="Salary", type=FieldType.DECIMAL, order=2)
    FieldDefinitionFactory(key="vip", label="VIP", type=FieldType.BOOLEAN, section="Flags", order=3)
    return RecordFactory(
        title="Deal",
        amount=Decimal("3.00"),
        secret="s",
        custom={"level": "a", "salary": "9.00", "vip": True},
    )


def test_detail_sections_follow_the_layout(rep, record):
    layout = FormLayoutFactory()
    FormSectionFactory(layout=layout, title="Money", order=1, fields=["amount", "salary", "gone"])
    FormSectionFactory(layout=layout, title="Flags", order=2, fields=[])

    sections = detail_sections(rep, record, ["title", "amount", "secret"])

    assert sections == [
        {"title": "", "rows": [("title", "Deal"), ("secret", "s"), ("Level", "Alpha")]},
        {"title": "Money", "rows": [("amount", "3.00"), ("Salary", "9.00")]},
        {"title": "Flags", "rows": [("VIP", "Yes")]},
    ]


def test_detail_sections_hide_restricted_fields(rep, record):
    services.field_policy_set(model=Record, field_name="secret")
    services.field_policy_set(model=Record, field_name="salary")
    rows = [
        label for s in detail_sections(rep, record, ["title", "secret"]) for label, _v in s["rows"]
    ]
    assert rows == ["title", "Level", "VIP"]


def test_registry():
    assert Record in registered_models()
    assert Note not in registered_models()
    assert is_registered(Record) and not is_registered(Note)
    assert ("testapp.record", "record") in model_choices()


def test_layout_for_is_cached_and_invalidated(django_assert_num_queries):
    assert layout_for(Record) == ([], [])
    layout = FormLayoutFactory(hidden_fields=["amount"])
    section = FormSectionFactory(layout=layout, title="A", fields=["title"], columns=1)
    assert layout_for(Record) == (["amount"], [("A", ["title"], 1, False)])
    with django_assert_num_queries(0):
        layout_for(Record)
    section.title = "B"
    section.save()
    assert layout_for(Record)[1][0][0] == "B"
