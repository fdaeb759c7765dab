"""CustomFieldsFormMixin: custom fields, field security and the form layout on a ModelForm."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms

from apps.org import services
from apps.org.models import Scope, User
from apps.studio.models import FieldType
from tests.org.factories import UserFactory, make_role
from tests.studio.factories import (
    FieldDefinitionFactory,
    FormLayoutFactory,
    FormSectionFactory,
    RecordFactory,
)
from tests.testapp.forms import RecordForm
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    user = UserFactory(username="rep")
    make_role("reps", Record, actions=("view", "change"), scope=Scope.ALL, members=[user])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def fields():
    return {
        "code": FieldDefinitionFactory(key="code", label="Code", unique=True, order=1),
        "score": FieldDefinitionFactory(
            key="score", label="Score", type=FieldType.INTEGER, min_value=0, max_value=100, order=2
        ),
        "budget": FieldDefinitionFactory(
            key="budget", label="Budget", type=FieldType.DECIMAL, order=3
        ),
        "due": FieldDefinitionFactory(key="due", label="Due", type=FieldType.DATE, order=4),
        "meet": FieldDefinitionFactory(
            key="meet", label="Meeting", type=FieldType.DATETIME, order=5
        ),
        "vip": FieldDefinitionFactory(key="vip", label="VIP", type=FieldType.BOOLEAN, order=6),
        "level": FieldDefinitionFactory(
            key="level",
            label="Level",
            type=FieldType.CHOICE,
            choices=["a", "b"],
            default="a",
            order=7,
        ),
        "tags": FieldDefinitionFactory(
            key="tags", label="Tags", type=FieldType.MULTICHOICE, choices=["x", "y", "z"], order=8
        ),
        "buddy": FieldDefinitionFactory(key="buddy", label="Buddy", type=FieldType.USER, order=9),
        "mail": FieldDefinitionFactory(key="mail", label="Mail", type=FieldType.EMAIL, order=10),
        "site": FieldDefinitionFactory(key="site", label="Site", type=FieldType.URL, order=11),
        "notes": FieldDefinitionFactory(
            key="notes", label="Notes", type=FieldType.TEXTAREA, section="Extra", order=12
        ),
    }


def test_custom_fields_become_prefixed_form_fields(fields, rep):
    form = RecordForm(user=rep)
    custom = [name for name in form.fields if name.startswith("custom__")]
    assert custom == [f"custom__{key}" for key in fields]
    assert isinstance(form.fields["custom__score"], forms.IntegerField)
    assert isinstance(form.fields["custom__budget"], forms.DecimalField)
    assert isinstance(form.fields["custom__tags"], forms.MultipleChoiceField)
    assert isinstance(form.fields["custom__buddy"], forms.ModelChoiceField)
    assert isinstance(form.fields["custom__notes"].widget, forms.Textarea)
    assert form.fields["custom__level"].initial == "a"  # the default, on a new record
    assert form.fields["custom__code"].label == "Code"


def test_posting_every_type_stores_clean_values(fields, rep):
    buddy = UserFactory(username="buddy")
    data = {
        "title": "Deal",
        "custom__code": "C-1",
        "custom__score": "42",
        "custom__budget": "99.5",
        "custom__due": "2024-05-01",
        "custom__meet": "2024-05-01T09:30",
        "custom__vip": "on",
        "custom__level": "b",
        "custom__tags": ["x", "z"],
        "custom__buddy": str(buddy.pk),
        "custom__mail": "a@example.com",
        "custom__site": "https://example.com",
        "custom__notes": "two\nlines",
    }
    form = RecordForm(data, instance=Record(owner=rep), user=rep)
    assert form.is_valid(), form.errors
    record = form.save()
    record.refresh_from_db()
    assert record.custom == {
        "code": "C-1",
        "score": 42,
        "budget": "99.50",
        "due": "2024-05-01",
        "meet": "2024-05-01T01:30:00+00:00",
        "vip": True,
        "level": "b",
        "tags": ["x", "z"],
        "buddy": buddy.pk,
        "mail": "a@example.com",
        "site": "https://example.com",
        "notes": "two\nlines",
    }


def test_initial_values_come_from_the_record(fields, rep):
    record = RecordFactory(custom={"score": 7, "meet": "2024-05-01T01:30:00+00:00"})
    form = RecordForm(instance=record, user=rep)
    assert form.fields["custom__score"].initial == 7
    assert form.fields["custom__level"].initial is None  # no default on an existing record
    assert form.fields["custom__meet"].initial == dt.datetime(
        2024, 5, 1, 9, 30, tzinfo=form.fields["custom__meet"].initial.tzinfo
    )


def test_validation_errors_land_on_the_right_field(fields, rep):
    RecordFactory(custom={"code": "TAKEN"})
    data = {
        "title": "x",
        "custom__code": "taken",
        "custom__score": "101",
        "custom__budget": "1.234",
        "custom__level": "a",
    }
    form = RecordForm(data, instance=Record(owner=rep), user=rep)

    assert not form.is_valid()
    assert form.errors["custom__code"] == ["Code 'taken' is already used."]
    assert form.errors["custom__score"] == ["Enter a value of at most 100."]
    assert "custom__budget" in form.errors
    assert set(form.errors) == {"custom__code", "custom__score", "custom__budget"}


def test_required_custom_field(rep):
    FieldDefinitionFactory(key="erp", label="ERP", required=True)
    form = RecordForm({"title": "x"}, instance=Record(owner=rep), user=rep)
    assert not form.is_valid()
    assert form.errors["custom__erp"] == ["This field is required."]


def test_sections_follow_the_form_layout(fields, rep):
    layout = FormLayoutFactory()
    FormSectionFactory(
        layout=layout, title="Money", order=1, fields=["amount", "budget"], columns=1
    )
    FormSectionFactory(
        layout=layout, title="Planning", order=2, fields=["due", "meet", "nope"], collapsed=True
    )
    FormSectionFactory(layout=layout, title="Extra", order=3, fields=[])

    sections = RecordForm(user=rep).sections
    shape = [
        (s["title"], [f.name for f in s["fields"]], s["columns"], s["collapsed"]) for s in sections
    ]
    assert shape == [
        ("Details", ["title", "department", "secret"], 2, False),
        ("Money", ["amount", "custom__budget"], 1, False),
        ("Planning", ["custom__due", "custom__meet"], 2, True),
        ("Extra", ["custom__notes"], 2, False),  # placed by the definition's own section
        (
            "More",
            [
                "custom__code",
                "custom__score",
                "custom__vip",
                "custom__level",
                "custom__tags",
                "custom__buddy",
                "custom__mail",
                "custom__site",
            ],
            2,
            False,
        ),
    ]


def test_without_a_layout_everything_is_in_default_sections(rep):
    FieldDefinitionFactory(key="a", label="A")
    FieldDefinitionFactory(key="b", label="B", section="Side")
    titles = [(s["title"], [f.name for f in s["fields"]]) for s in RecordForm(user=rep).sections]
    assert titles == [
        ("Details", ["title", "department", "amount", "secret"]),
        ("More", ["custom__a"]),
        ("Side", ["custom__b"]),
    ]


def test_hidden_fields_are_removed_and_readonly_fields_disabled(fields, rep):
    services.field_policy_set(model=Record, field_name="secret")
    services.field_policy_set(model=Record, field_name="score")
    services.field_policy_set(model=Record, field_name="amount", restrict_view=False)
    services.field_policy_set(model=Record, field_name="code", restrict_view=False)
    record = RecordFactory(
        amount=Decimal("10.00"), secret="s", custom={"code": "KEEP", "score": 50}
    )

    form = RecordForm(instance=record, user=rep)
    assert "secret" not in form.fields
    assert "custom__score" not in form.fields
    assert form.fields["amount"].disabled and form.fields["custom__code"].disabled
    assert not form.fields["custom__code"].required
    names = [f.name for s in form.sections for f in s["fields"]]
    assert "secret" not in names and "custom__score" not in names

    # Posting values for locked fields changes nothing; hidden values survive untouched.
    data = {
        "title": "renamed",
        "amount": "999",
        "secret": "leak",
        "custom__code": "HACK",
        "custom__score": "1",
        "custom__level": "b",
    }
    form = RecordForm(data, instance=record, user=rep)
    assert form.is_valid(), form.errors
    form.save()
    record.refresh_from_db()
    assert record.title == "renamed"
    assert record.amount == Decimal("10.00")
    assert record.secret == "s"
    # An unticked checkbox posts nothing: the boolean is stored as False.
    assert record.custom == {"code": "KEEP", "score": 50, "level": "b", "vip": False}


def test_superuser_and_no_user_see_every_field(fields):
    services.field_policy_set(model=Record, field_name="secret")
    root = UserFactory(username="root", is_superuser=True)
    assert "secret" in RecordForm(user=root).fields
    assert "secret" in RecordForm().fields  # no user: a system form (imports, shell)


def test_layout_hidden_fields_drop_optional_built_in_fields_only(rep):
    FormLayoutFactory(hidden_fields=["amount", "title", "secret"])
    form = RecordForm(user=rep)
    assert "amount" not in form.fields
    assert "secret" not in form.fields
    assert "title" in form.fields  # required: a layout cannot hide it


def test_form_widgets_get_css_classes(fields, rep):
    form = RecordForm(user=rep)
    assert form.fields["title"].widget.attrs["class"] == "form-control"
    assert form.fields["custom__vip"].widget.attrs["class"] == "form-check-input"
    assert form.fields["custom__level"].widget.attrs["class"] == "form-select"
