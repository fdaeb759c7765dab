"""WeftResource: custom-field columns, field security and formula safety in Excel import/export."""

from __future__ import annotations

from decimal import Decimal

import pytest
import tablib

from apps.org import services
from apps.org.models import Scope, User
from apps.studio.models import FieldType
from apps.studio.resources import neutralise
from tests.org.factories import UserFactory, make_role
from tests.studio.factories import FieldDefinitionFactory, RecordFactory
from tests.testapp.models import Record
from tests.testapp.resources import RecordResource

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    user = UserFactory(username="rep")
    make_role("reps", Record, actions=("view", "add", "change"), scope=Scope.ALL, members=[user])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def custom_fields():
    return [
        FieldDefinitionFactory(key="code", label="ERP code", unique=True, order=1),
        FieldDefinitionFactory(key="score", label="Score", type=FieldType.INTEGER, order=2),
        FieldDefinitionFactory(
            key="level",
            label="Level",
            type=FieldType.CHOICE,
            choices=["a|Alpha", "b|Beta"],
            order=3,
        ),
        FieldDefinitionFactory(key="vip", label="VIP", type=FieldType.BOOLEAN, order=4),
        FieldDefinitionFactory(key="salary", label="Salary", type=FieldType.DECIMAL, order=5),
    ]


def test_export_has_one_column_per_custom_field_headed_by_its_label(custom_fields, rep):
    record = RecordFactory(
        title="Deal",
        amount=Decimal("12.50"),
        secret="s",
        custom={"code": "E-1", "score": 3, "level": "b", "vip": True, "salary": "10.00"},
    )

    data = RecordResource(user=rep).export(Record.objects.all())

    assert data.headers == [
        "id",
        "title",
        "amount",
        "secret",
        "owner",
        "ERP code",
        "Score",
        "Level",
        "VIP",
        "Salary",
    ]
    row = data.dict[0]
    assert (row["id"], row["title"], row["amount"], row["secret"]) == (
        str(record.pk),
        "Deal",
        "12.50",
        "s",
    )
    assert str(row["owner"]) == str(record.owner_id)
    assert [row[h] for h in ("ERP code", "Score", "Level", "VIP", "Salary")] == [
        "E-1",
        "3",
        "Beta",
        "Yes",
        "10.00",
    ]


def test_inactive_custom_fields_are_not_exported(custom_fields, rep):
    custom_fields[1].active = False
    custom_fields[1].save()
    assert "Score" not in RecordResource(user=rep).export(Record.objects.all()).headers


def test_hidden_fields_are_dropped_from_exports(custom_fields, rep):
    services.field_policy_set(model=Record, field_name="secret")
    services.field_policy_set(model=Record, field_name="salary")
    services.field_policy_set(model=Record, field_name="amount", restrict_view=False)
    RecordFactory(secret="s", custom={"salary": "1.00"})

    headers = RecordResource(user=rep).export(Record.objects.all()).headers
    assert "secret" not in headers and "Salary" not in headers
    assert "amount" in headers  # read-only is still visible
    root = UserFactory(username="root", is_superuser=True)
    assert {"secret", "Salary"} <= set(
        RecordResource(user=root).export(Record.objects.all()).headers
    )


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        # A plain (negative) number is data, not a formula: it stays a number.
        ("-2", "-2"),
        ("-5.00", "-5.00"),
        ("\t=1", "'\t=1"),
        ("%0A", "'%0A"),
        ("|pipe", "'|pipe"),
        ("plain", "plain"),
        ("a=1", "a=1"),
    ],
)
def test_formula_cells_are_neutralised(custom_fields, rep, value, exported):
    RecordFactory(title=value, secret="", custom={"code": value})
    row = RecordResource(user=rep).export(Record.objects.all()).dict[0]
    assert row["title"] == exported
    assert row["ERP code"] == exported


def test_neutralise_leaves_non_text_alone():
    assert neutralise(-2) == -2
    assert neutralise(None) is None
    assert neutralise("") == ""


def _dataset(rep, *rows, headers=("id", "title", "owner", "ERP code", "Score")):
    return tablib.Dataset(*[tuple(r) for r in rows], headers=list(headers))


def test_import_stores_custom_values(custom_fields, rep):
    dataset = _dataset(rep, ["", "Imported", rep.pk, " I-1 ", "42"])

    result = RecordResource(user=rep).import_data(dataset, dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors()
    record = Record.objects.get()
    assert record.title == "Imported"
    assert record.custom == {"code": "I-1", "score": 42}


def test_import_with_a_bad_custom_value_reports_the_row_and_dry_run_commits_nothing(
    custom_fields, rep
):
    dataset = _dataset(rep, ["", "Good", rep.pk, "G-1", "1"], ["", "Bad", rep.pk, "B-1", "many"])

    result = RecordResource(user=rep).import_data(dataset, dry_run=True)

    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert invalid.error_dict == {"custom__score": ["Enter a whole number."]}
    assert not Record.objects.exists()


def test_a_failing_row_rolls_back_the_whole_import(custom_fields, rep):
    dataset = _dataset(rep, ["", "Good", rep.pk, "G-1", "1"], ["", "Bad", rep.pk, "B-1", "many"])
    result = RecordResource(user=rep).import_data(dataset, dry_run=False)
    assert result.has_validation_errors()
    assert not Record.objects.exists()  # the good row went back too: all or nothing


def test_import_enforces_unique_values_within_the_file_and_against_the_db(custom_fields, rep):
    RecordFactory(custom={"code": "TAKEN"})
    dataset = _dataset(
        rep,
        ["", "A", rep.pk, "dup", ""],
        ["", "B", rep.pk, "DUP", ""],
        ["", "C", rep.pk, "taken", ""],
    )

    result = RecordResource(user=rep).import_data(dataset, dry_run=True)

    assert result.has_validation_errors()
    assert [r.number for r in result.invalid_rows] == [2, 3]
    assert Record.objects.count() == 1


def test_import_refuses_columns_the_user_may_not_write(custom_fields, rep):
    services.field_policy_set(model=Record, field_name="score", restrict_view=False)
    dataset = _dataset(rep, ["", "A", rep.pk, "X", "5"])

    result = RecordResource(user=rep).import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert result.invalid_rows[0].error_dict == {
        "custom__score": ["You may not import this field."]
    }
    assert not Record.objects.exists()


def test_xlsx_export_contains_no_formula_cells(custom_fields, rep):
    import io

    import openpyxl

    RecordFactory(title='=HYPERLINK("http://evil","x")', custom={"code": "=1+1"})
    data = RecordResource(user=rep).export(Record.objects.all())

    sheet = openpyxl.load_workbook(io.BytesIO(data.export("xlsx"))).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    assert {cell.value for cell in cells} >= {"'=1+1", '\'=HYPERLINK("http://evil","x")'}
