"""`validate_custom` and `FieldDefinition.clean` (DESIGN §4.2): one function turns raw values into
the stored shapes documented in apps/studio/validation.py, or field errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from apps.studio.models import FieldDefinition, FieldType, UniqueCustomValue, normalise_choices
from apps.studio.registry import definition_map, definitions_for
from apps.studio.validation import (
    clean_value,
    display_value,
    validate_custom,
    validate_custom_or_raise,
)
from tests.org.factories import UserFactory
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.models import Note, Record

pytestmark = pytest.mark.django_db

CHOICES = [
    {"value": "a", "label": "Alpha"},
    {"value": "b", "label": "Beta"},
    {"value": "c", "label": "Gamma"},
]


def define(type_, key="f", **kwargs) -> FieldDefinition:
    if type_ in (FieldType.CHOICE, FieldType.MULTICHOICE):
        kwargs.setdefault("choices", CHOICES)
    return FieldDefinitionFactory(key=key, label=kwargs.pop("label", "Field"), type=type_, **kwargs)


def check(raw):
    """(clean, errors) for {"f": raw} on a new Record."""
    return validate_custom(Record, {"f": raw})


# --- every type: good values and their stored shape ------------------------------------

GOOD = [
    (FieldType.TEXT, "  hello  ", "hello"),
    (FieldType.TEXT, 42, "42"),
    (FieldType.TEXT, Decimal("1.5"), "1.5"),
    (FieldType.TEXT, "中文名称", "中文名称"),
    (FieldType.TEXTAREA, "line one\nline two", "line one\nline two"),
    (FieldType.TEXTAREA, "x" * 5000, "x" * 5000),
    (FieldType.INTEGER, "42", 42),
    (FieldType.INTEGER, " -7 ", -7),
    (FieldType.INTEGER, 42, 42),
    (FieldType.INTEGER, 7.0, 7),
    (FieldType.INTEGER, 10**15, 10**15),
    (FieldType.DECIMAL, "12.5", "12.50"),
    (FieldType.DECIMAL, "1,234.5", "1234.50"),
    (FieldType.DECIMAL, 3, "3.00"),
    (FieldType.DECIMAL, Decimal("-0.01"), "-0.01"),
    (FieldType.DECIMAL, 2.25, "2.25"),
    (FieldType.DATE, "2024-02-29", "2024-02-29"),
    (FieldType.DATE, dt.date(2024, 1, 5), "2024-01-05"),
    (FieldType.DATETIME, "2024-03-01T10:00", "2024-03-01T02:00:00+00:00"),  # Asia/Shanghai
    (FieldType.DATETIME, "2024-03-01T10:00:00+08:00", "2024-03-01T02:00:00+00:00"),
    (FieldType.DATETIME, "2024-03-01 02:00:00Z", "2024-03-01T02:00:00+00:00"),
    (FieldType.DATETIME, dt.datetime(2024, 3, 1, 2, tzinfo=dt.UTC), "2024-03-01T02:00:00+00:00"),
    (FieldType.BOOLEAN, True, True),
    (FieldType.BOOLEAN, False, False),
    (FieldType.BOOLEAN, "yes", True),
    (FieldType.BOOLEAN, "是", True),
    (FieldType.BOOLEAN, "否", False),
    (FieldType.BOOLEAN, "0", False),
    (FieldType.BOOLEAN, 1, True),
    (FieldType.CHOICE, "a", "a"),
    (FieldType.CHOICE, " b ", "b"),
    (FieldType.MULTICHOICE, ["a", "c", "a"], ["a", "c"]),
    (FieldType.MULTICHOICE, "a, b", ["a", "b"]),
    (FieldType.MULTICHOICE, "a，c；b", ["a", "c", "b"]),
    (FieldType.EMAIL, " Sales@Example.com ", "Sales@Example.com"),
    (FieldType.PHONE, "+86 138-0013-8000", "+86 138-0013-8000"),
    (FieldType.PHONE, "010-6552 9988", "010-6552 9988"),
    (FieldType.PHONE, "(010) 6552 9988", "(010) 6552 9988"),
    (FieldType.URL, "https://example.com/a?b=1", "https://example.com/a?b=1"),
]


@pytest.mark.parametrize(
    ("type_", "raw", "stored"), GOOD, ids=[f"{t}-{i}" for i, (t, _r, _s) in enumerate(GOOD)]
)
def test_good_values_are_stored_in_the_documented_shape(type_, raw, stored):
    define(type_)
    clean, errors = check(raw)
    assert errors == {}
    assert clean == {"f": stored}
    assert type(clean["f"]) is type(stored)


def test_user_values_are_stored_as_user_ids():
    define(FieldType.USER)
    colleague = UserFactory(username="colleague")
    for raw in (colleague.pk, str(colleague.pk), colleague, "colleague"):
        assert check(raw) == ({"f": colleague.pk}, {}), raw


BAD = [
    (FieldType.TEXT, "two\nlines", "Enter one line of at most 1000 characters."),
    (FieldType.TEXT, "x" * 1001, "Enter one line of at most 1000 characters."),
    (FieldType.TEXT, True, "Enter text."),
    (FieldType.TEXT, ["a"], "Enter text."),
    (FieldType.TEXT, {"a": 1}, "Enter text."),
    (FieldType.TEXTAREA, "x" * 20001, "The text is too long."),
    (FieldType.INTEGER, "abc", "Enter a whole number."),
    (FieldType.INTEGER, "4.5", "Enter a whole number."),
    (FieldType.INTEGER, 4.5, "Enter a whole number."),
    (FieldType.INTEGER, True, "Enter a whole number."),
    (FieldType.INTEGER, ["1"], "Enter a whole number."),
    (FieldType.INTEGER, 10**15 + 1, "The number is too large."),
    (FieldType.DECIMAL, "abc", "Enter a number."),
    (FieldType.DECIMAL, "NaN", "Enter a number."),
    (FieldType.DECIMAL, "Infinity", "Enter a number."),
    (FieldType.DECIMAL, "1e20", "Enter a number."),
    (FieldType.DECIMAL, False, "Enter a number."),
    (FieldType.DECIMAL, "12.345", "Use at most 2 decimal places."),
    (FieldType.DATE, "2024-02-30", "Enter a date (YYYY-MM-DD)."),
    (FieldType.DATE, "29/02/2024", "Enter a date (YYYY-MM-DD)."),
    (FieldType.DATE, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "Enter a date (YYYY-MM-DD)."),
    (FieldType.DATETIME, "tomorrow", "Enter a date and time (YYYY-MM-DDTHH:MM)."),
    (FieldType.DATETIME, "2024-13-01T10:00", "Enter a date and time (YYYY-MM-DDTHH:MM)."),
    (FieldType.BOOLEAN, "maybe", "Enter yes or no."),
    (FieldType.BOOLEAN, 2, "Enter yes or no."),
    (FieldType.BOOLEAN, ["yes"], "Enter yes or no."),
    (FieldType.CHOICE, "z", "'z' is not one of the choices."),
    (FieldType.CHOICE, "Alpha", "'Alpha' is not one of the choices."),
    (FieldType.CHOICE, True, "Select a valid choice."),
    (FieldType.CHOICE, ["a"], "Select a valid choice."),
    (FieldType.MULTICHOICE, ["a", "z"], "'z' is not one of the choices."),
    (FieldType.MULTICHOICE, 5, "Select a list of choices."),
    (FieldType.MULTICHOICE, {"a": True}, "Select a list of choices."),
    (FieldType.USER, "nobody", "Select an active user."),
    (FieldType.USER, 999999, "Select an active user."),
    (FieldType.USER, True, "Select a user."),
    (FieldType.EMAIL, "not-an-email", "Enter a valid email address."),
    (FieldType.EMAIL, "a@b", "Enter a valid email address."),
    (FieldType.PHONE, "call me", "Enter a valid phone number."),
    (FieldType.PHONE, "12", "Enter a valid phone number."),
    (FieldType.URL, "not a url", "Enter a valid URL."),
    (FieldType.URL, "javascript:alert(1)", "Enter a valid URL."),
]


@pytest.mark.parametrize(
    ("type_", "raw", "message"), BAD, ids=[f"{t}-{i}" for i, (t, _r, _m) in enumerate(BAD)]
)
def test_bad_values_give_a_field_error(type_, raw, message):
    define(type_)
    clean, errors = check(raw)
    assert errors == {"f": [message]}
    assert "f" not in clean


def test_inactive_user_is_refused():
    define(FieldType.USER)
    gone = UserFactory(username="gone", is_active=False)
    assert check(gone.pk)[1] == {"f": ["Select an active user."]}
    assert check("gone")[1] == {"f": ["Select an active user."]}


def test_every_field_type_is_covered():
    covered = {t for t, _r, _s in GOOD} | {FieldType.USER}
    assert covered == set(FieldType)
    assert {t for t, _r, _m in BAD} == set(FieldType)


@pytest.mark.parametrize("type_", list(FieldType))
def test_empty_values_are_dropped(type_):
    define(type_)
    for empty in (None, "", "   ", []):
        assert check(empty) == ({}, {}), empty


# --- rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_",
    [FieldType.TEXT, FieldType.INTEGER, FieldType.MULTICHOICE, FieldType.BOOLEAN, FieldType.USER],
)
def test_required(type_):
    define(type_, required=True)
    for empty in (None, "", []):
        assert check(empty)[1] == {"f": ["This field is required."]}
    assert validate_custom(Record, {})[1] == {"f": ["This field is required."]}


def test_required_boolean_accepts_false():
    define(FieldType.BOOLEAN, required=True)
    assert check(False) == ({"f": False}, {})


class TestUnique:
    def test_text_is_unique_case_and_space_insensitively(self):
        define(FieldType.TEXT, key="code", unique=True, label="Code")
        RecordFactory(custom={"code": "ABC-1"})

        clean, errors = validate_custom(Record, {"code": "  abc-1 "})
        assert errors == {"code": ["Code 'abc-1' is already used."]}
        assert validate_custom(Record, {"code": "ABC-2"}) == ({"code": "ABC-2"}, {})

    def test_update_excludes_the_record_itself(self):
        define(FieldType.TEXT, key="code", unique=True, label="Code")
        record = RecordFactory(custom={"code": "ABC-1"})
        other = RecordFactory(custom={"code": "XYZ"})

        assert validate_custom(Record, {"code": "abc-1"}, instance=record) == (
            {"code": "abc-1"},
            {},
        )
        assert validate_custom(Record, {"code": "abc-1"}, instance=other)[1] == {
            "code": ["Code 'abc-1' is already used."]
        }

    @pytest.mark.parametrize(
        ("type_", "first", "second"),
        [
            (FieldType.PHONE, "138 0013-8000", "13800138000"),
            (FieldType.DECIMAL, "1.5", "1.50"),
            (FieldType.INTEGER, 7, "7"),
            (FieldType.EMAIL, "a@example.com", "A@Example.com"),
            (FieldType.DATE, "2024-01-01", dt.date(2024, 1, 1)),
            (FieldType.CHOICE, "a", "a"),
        ],
    )
    def test_equal_values_after_normalisation_clash(self, type_, first, second):
        define(type_, key="u", unique=True)
        record = RecordFactory()
        record.custom = validate_custom_or_raise(Record, {"u": first}, instance=record)
        record.save()
        assert "u" in validate_custom(Record, {"u": second})[1]

    def test_save_enforces_unique_values_without_validation(self):
        """The database keeps values unique whoever saves (import, admin, automation)."""
        define(FieldType.TEXT, key="code", unique=True, label="Code")
        RecordFactory(custom={"code": "ABC"})

        with pytest.raises(ValidationError) as exc:
            RecordFactory(custom={"code": "abc"}, title="dup")
        assert exc.value.message_dict == {"custom": ["Code 'abc' is already used."]}
        assert exc.value.custom_errors == {"code": ["Code 'abc' is already used."]}
        assert not Record.objects.filter(title="dup").exists()
        assert UniqueCustomValue.objects.count() == 1

    def test_changing_or_deleting_frees_the_value(self):
        define(FieldType.TEXT, key="code", unique=True)
        first = RecordFactory(custom={"code": "A"})
        second = RecordFactory(custom={"code": "B"})

        first.custom = {"code": "C"}
        first.save()
        assert validate_custom(Record, {"code": "a"})[1] == {}
        second.delete()
        assert validate_custom(Record, {"code": "b"})[1] == {}
        RecordFactory(custom={"code": "b"})
        assert set(UniqueCustomValue.objects.values_list("value", flat=True)) == {"c", "b"}

    def test_stale_value_left_by_a_queryset_delete_does_not_block(self):
        define(FieldType.TEXT, key="code", unique=True)
        RecordFactory(custom={"code": "GONE"}, title="old")
        Record.objects.filter(title="old").delete()  # bypasses Model.delete()
        assert UniqueCustomValue.objects.filter(value="gone").exists()

        assert validate_custom(Record, {"code": "gone"}) == ({"code": "gone"}, {})
        new = RecordFactory(custom={"code": "gone"})
        assert list(UniqueCustomValue.objects.values_list("object_id", flat=True)) == [new.pk]

    def test_check_unique_false_skips_the_lookup(self):
        define(FieldType.TEXT, key="code", unique=True)
        RecordFactory(custom={"code": "A"})
        assert validate_custom(Record, {"code": "a"}, check_unique=False)[1] == {}


@pytest.mark.parametrize(
    ("type_", "raw", "message"),
    [
        (FieldType.INTEGER, 4, "Enter a value of at least 5."),
        (FieldType.INTEGER, 11, "Enter a value of at most 10."),
        (FieldType.DECIMAL, "4.99", "Enter a value of at least 5."),
        (FieldType.DECIMAL, "10.01", "Enter a value of at most 10."),
        (FieldType.TEXT, "abcd", "Enter at least 5 characters."),
        (FieldType.TEXT, "abcdefghijk", "Enter at most 10 characters."),
        (FieldType.TEXTAREA, "abcd", "Enter at least 5 characters."),
    ],
)
def test_min_and_max(type_, raw, message):
    define(type_, min_value=Decimal(5), max_value=Decimal(10))
    assert check(raw)[1] == {"f": [message]}


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        (FieldType.INTEGER, 5),
        (FieldType.INTEGER, 10),
        (FieldType.DECIMAL, "5.00"),
        (FieldType.TEXT, "abcde"),
        (FieldType.TEXT, "abcdefghij"),
    ],
)
def test_min_and_max_bounds_are_inclusive(type_, raw):
    define(type_, min_value=Decimal(5), max_value=Decimal(10))
    assert check(raw)[1] == {}


def test_regex_with_and_without_message():
    define(FieldType.TEXT, key="erp", regex=r"[A-Z]{3}-\d{4}", regex_message="Use ABC-1234.")
    define(FieldType.PHONE, key="tel", regex=r"1\d{10}")
    assert validate_custom(Record, {"erp": "ABC-1234", "tel": "13800138000"})[1] == {}
    # The whole value must match, not a part of it.
    assert validate_custom(Record, {"erp": "xABC-1234x"})[1] == {"erp": ["Use ABC-1234."]}
    assert validate_custom(Record, {"tel": "+86 13800138000"})[1] == {
        "tel": ["The value does not have the expected format."]
    }


def test_default_applies_on_create_only():
    define(FieldType.CHOICE, key="level", default="b")
    define(FieldType.INTEGER, key="score", default="3")

    assert validate_custom(Record, {}) == ({"level": "b", "score": 3}, {})
    assert validate_custom(Record, {"level": "a"}) == ({"level": "a", "score": 3}, {})
    existing = RecordFactory(custom={})
    assert validate_custom(Record, {}, instance=existing) == ({}, {})


def test_unknown_keys_are_errors():
    define(FieldType.TEXT, key="known")
    clean, errors = validate_custom(Record, {"known": "x", "nope": 1})
    assert errors == {"nope": ["Unknown field."]}
    assert clean == {"known": "x"}


def test_raw_must_be_a_dict():
    assert validate_custom(Record, ["a"]) == (
        {},
        {"custom": ["Custom fields must be an object of key: value."]},
    )
    assert validate_custom(Record, None) == ({}, {})


def test_updates_keep_values_not_given():
    define(FieldType.TEXT, key="a")
    define(FieldType.INTEGER, key="b", required=True)
    record = RecordFactory(custom={"a": "keep", "b": 1})

    assert validate_custom(Record, {"b": 2}, instance=record) == ({"a": "keep", "b": 2}, {})
    assert validate_custom(Record, {"b": 2}, instance=record, partial=True) == (
        {"a": "keep", "b": 2},
        {},
    )
    # Clearing a value removes the key.
    assert validate_custom(Record, {"a": ""}, instance=record) == ({"b": 1}, {})
    assert validate_custom(Record, {"b": None}, instance=record)[1] == {
        "b": ["This field is required."]
    }


def test_partial_update_reports_a_required_field_that_was_never_set():
    define(FieldType.TEXT, key="a")
    record = RecordFactory(custom={"a": "x"})
    define(FieldType.TEXT, key="later", required=True)  # added after the record existed

    assert validate_custom(Record, {"a": "y"}, instance=record, partial=True)[1] == {
        "later": ["This field is required."]
    }
    assert validate_custom(Record, {"a": "y"}, instance=record)[1] == {
        "later": ["This field is required."]
    }


def test_inactive_definitions_keep_their_values_untouched():
    define(FieldType.TEXT, key="live")
    old = define(FieldType.INTEGER, key="old", required=True)
    record = RecordFactory(custom={"live": "x", "old": "not even an int"})
    old.active = False
    old.save()

    assert [d.key for d in definitions_for(Record)] == ["live"]
    assert [d.key for d in definitions_for(Record, include_inactive=True)] == ["live", "old"]
    assert validate_custom(Record, {"live": "y"}, instance=record) == (
        {"live": "y", "old": "not even an int"},
        {},
    )
    assert validate_custom(Record, {"old": 1}, instance=record)[1] == {"old": ["Unknown field."]}
    assert validate_custom(Record, {})[1] == {}  # not required any more on create


def test_validate_custom_or_raise():
    define(FieldType.INTEGER, key="n")
    assert validate_custom_or_raise(Record, {"n": "5"}) == {"n": 5}
    with pytest.raises(ValidationError) as exc:
        validate_custom_or_raise(Record, {"n": "x", "zz": 1})
    assert exc.value.message_dict == {"custom": ["Unknown field.", "Enter a whole number."]}
    assert exc.value.custom_errors == {"n": ["Enter a whole number."], "zz": ["Unknown field."]}


def test_definitions_of_other_models_do_not_apply():
    define(FieldType.TEXT, key="f", required=True)
    # Note has no custom fields: nothing is defined, everything is unknown.
    assert validate_custom(Note, {}) == ({}, {})
    assert validate_custom(Note, {"f": "x"})[1] == {"f": ["Unknown field."]}


def test_definitions_are_cached_until_changed(django_assert_num_queries):
    define(FieldType.TEXT, key="a")
    definitions_for(Record)
    with django_assert_num_queries(0):
        assert list(definition_map(Record)) == ["a"]
    define(FieldType.TEXT, key="b", order=0)
    assert [d.key for d in definitions_for(Record)] == ["a", "b"]


@pytest.mark.parametrize(
    ("type_", "stored", "text"),
    [
        (FieldType.BOOLEAN, True, "Yes"),
        (FieldType.BOOLEAN, False, "No"),
        (FieldType.CHOICE, "b", "Beta"),
        (FieldType.MULTICHOICE, ["a", "c"], "Alpha, Gamma"),
        (FieldType.DATETIME, "2024-03-01T02:00:00+00:00", "2024-03-01 10:00"),
        (FieldType.DECIMAL, "12.50", "12.50"),
        (FieldType.TEXT, None, ""),
    ],
)
def test_display_value(type_, stored, text):
    assert display_value(define(type_), stored) == text


def test_display_value_of_a_user():
    d = define(FieldType.USER)
    u = UserFactory(username="u1", display_name="Ada")
    assert display_value(d, u.pk, users={u.pk: u}) == "Ada"
    assert display_value(d, u.pk) == str(u.pk)


def test_clean_value_directly():
    d = define(FieldType.MULTICHOICE, required=True)
    with pytest.raises(ValidationError):
        clean_value(d, [])
    assert clean_value(define(FieldType.MULTICHOICE, key="g"), None) == []


# --- FieldDefinition.clean --------------------------------------------------------------


def build(**kwargs) -> FieldDefinition:
    kwargs.setdefault("content_type", ContentType.objects.get_for_model(Record))
    kwargs.setdefault("key", "f")
    kwargs.setdefault("label", "Field")
    return FieldDefinition(**kwargs)


def errors_of(definition: FieldDefinition) -> dict:
    with pytest.raises(ValidationError) as exc:
        definition.full_clean()
    return exc.value.message_dict


class TestDefinitionClean:
    def test_bad_regex(self):
        assert list(errors_of(build(regex="([a-z"))) == ["regex"]
        assert errors_of(build(regex="([a-z"))["regex"][0].startswith("Not a valid pattern")

    @pytest.mark.parametrize("type_", [FieldType.CHOICE, FieldType.MULTICHOICE])
    def test_choice_without_choices(self, type_):
        assert errors_of(build(type=type_, choices=[])) == {
            "choices": ["A choice field needs choices."]
        }

    def test_choices_are_normalised(self):
        d = build(type=FieldType.CHOICE, choices="a|Alpha\nb|Beta\n\nc")
        d.full_clean()
        assert d.choices == [
            {"value": "a", "label": "Alpha"},
            {"value": "b", "label": "Beta"},
            {"value": "c", "label": "c"},
        ]
        assert d.choice_values() == ["a", "b", "c"]
        assert d.choice_label("b") == "Beta"

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (["a", "a"], "Choice 'a' is listed twice."),
            ([{"label": "no value"}], "Every choice needs a value."),
            ({"a": "b"}, "Choices must be a list."),
        ],
    )
    def test_bad_choices(self, raw, message):
        assert errors_of(build(type=FieldType.CHOICE, choices=raw)) == {"choices": [message]}
        with pytest.raises(ValidationError):
            normalise_choices(raw)

    def test_choices_on_other_types_are_dropped(self):
        d = build(type=FieldType.TEXT, choices=["a"])
        d.full_clean()
        assert d.choices == []

    @pytest.mark.parametrize(
        "type_", [FieldType.BOOLEAN, FieldType.MULTICHOICE, FieldType.TEXTAREA]
    )
    def test_unique_refused_on_types_that_cannot_be_unique(self, type_):
        d = build(type=type_, unique=True, choices=["a"])
        assert errors_of(d) == {"unique": ["Fields of this type cannot be unique."]}

    @pytest.mark.parametrize(
        "key", ["title", "owner", "owner_id", "department_id", "custom", "id", "secret"]
    )
    def test_key_shadowing_a_built_in_field(self, key):
        assert errors_of(build(key=key)) == {
            "key": [f"'{key}' is already a built-in field of this model."]
        }

    @pytest.mark.parametrize("key", ["Bad", "1abc", "with-dash", "a" * 51, "中文"])
    def test_key_format(self, key):
        assert "key" in errors_of(build(key=key))

    def test_key_cannot_change(self):
        d = FieldDefinitionFactory(key="erp_code")
        d.key = "erp_id"
        assert errors_of(d) == {"key": ["The key of a field cannot change."]}
        d.key = "erp_code"
        d.label = "ERP code"
        d.full_clean()  # other edits are fine

    def test_default_is_validated_and_cleaned(self):
        assert errors_of(build(type=FieldType.INTEGER, default="many")) == {
            "default": ["Enter a whole number."]
        }
        assert errors_of(build(type=FieldType.CHOICE, choices=["a"], default="z")) == {
            "default": ["'z' is not one of the choices."]
        }
        d = build(type=FieldType.DECIMAL, default="1.5")
        d.full_clean()
        assert d.default == "1.50"

    def test_unique_default_does_not_check_existing_values(self):
        FieldDefinitionFactory(key="code", unique=True)
        RecordFactory(custom={"code": "X"})
        d = FieldDefinition.objects.get(key="code")
        d.default = "x"
        d.full_clean()

    def test_min_above_max(self):
        assert errors_of(build(type=FieldType.INTEGER, min_value=5, max_value=1)) == {
            "max_value": ["Maximum is below minimum."]
        }

    def test_decimal_places(self):
        assert errors_of(build(type=FieldType.DECIMAL, decimal_places=7)) == {
            "decimal_places": ["At most 6 decimal places."]
        }

    def test_model_without_custom_fields(self):
        d = build(content_type=ContentType.objects.get_for_model(Note))
        assert errors_of(d) == {"content_type": ["This model has no custom fields."]}

    def test_key_unique_per_model(self):
        FieldDefinitionFactory(key="dup")
        assert "__all__" in errors_of(build(key="dup"))
