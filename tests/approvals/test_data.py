"""Typed request data per kind and template extra fields, validated by studio's clean_value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.approvals.data import clean_request_data, validate_extra_field_specs
from apps.approvals.models import ApprovalTemplate, Kind

DISCOUNT = [
    {
        "key": "discount",
        "label": "Discount %",
        "type": "decimal",
        "required": True,
        "min_value": 0,
        "max_value": 100,
    }
]


def test_leave_fields_and_day_count():
    data, amount, errors = clean_request_data(
        Kind.LEAVE, [], {"type": "annual", "start": "2026-12-21", "end": "2026-12-24"}
    )
    assert errors == {}
    assert data == {"type": "annual", "start": "2026-12-21", "end": "2026-12-24", "days": "4.0"}
    assert amount == 0
    data, _a, errors = clean_request_data(
        Kind.LEAVE, [], {"type": "sick", "start": "2026-12-21", "end": "2026-12-21", "days": "0.5"}
    )
    assert errors == {} and data["days"] == "0.5"


def test_leave_errors_name_the_fields():
    _d, _a, errors = clean_request_data(
        Kind.LEAVE,
        [],
        {
            "type": "holiday",
            "start": "2026-12-24",
            "end": "2026-12-21",
            "days": "x",
            "colour": "red",
        },
    )
    assert set(errors) == {"type", "days", "colour", "end"}
    _d, _a, errors = clean_request_data(
        Kind.LEAVE, [], {"type": "annual", "start": "2026-12-24", "end": "2026-12-21"}
    )
    assert set(errors) == {"end"}
    _d, _a, errors = clean_request_data(Kind.LEAVE, [], {})
    assert set(errors) == {"type", "start", "end"}


def test_expense_lines_sum_to_the_amount():
    data, amount, errors = clean_request_data(
        Kind.EXPENSE,
        [],
        {
            "lines": [
                {
                    "category": "travel",
                    "amount": "1200.50",
                    "date": "2026-11-02",
                    "description": "Flight",
                },
                {"category": "meals", "amount": 99},
            ]
        },
        raw_amount="1",
    )
    assert errors == {}
    assert amount == Decimal("1299.50")
    assert data["lines"][1] == {"category": "meals", "amount": "99.00"}


def test_expense_line_errors():
    _d, _a, errors = clean_request_data(
        Kind.EXPENSE,
        [],
        {
            "lines": [
                {"category": "travel", "amount": "-1"},
                {"category": "spa", "amount": "1.001", "receipt": "abc", "colour": 1},
            ]
        },
    )
    assert set(errors) == {
        "lines.0.amount",
        "lines.1.category",
        "lines.1.amount",
        "lines.1.receipt",
        "lines.1.colour",
    }
    assert clean_request_data(Kind.EXPENSE, [], {"lines": []})[2] == {
        "lines": ["Add at least one line."]
    }
    assert "lines" in clean_request_data(Kind.EXPENSE, [], {"lines": "x"})[2]


def test_purchase_lines_quantity_times_price():
    data, amount, errors = clean_request_data(
        Kind.PURCHASE,
        [],
        {
            "lines": [
                {"item": "Laptop", "quantity": "3", "price": "6999.00", "supplier": "Lenovo"},
                {"item": "Mouse", "quantity": 2.5, "price": "20"},
            ],
            "reason": "New hires",
        },
    )
    assert errors == {}
    assert amount == Decimal("21047.00")
    assert data["reason"] == "New hires"
    _d, _a, errors = clean_request_data(Kind.PURCHASE, [], {"lines": [{"price": "1"}]})
    assert set(errors) == {"lines.0.item", "lines.0.quantity"}


def test_general_amount_and_extra_fields():
    specs = validate_extra_field_specs(DISCOUNT, kind=Kind.DISCOUNT)
    data, amount, errors = clean_request_data(
        Kind.DISCOUNT, specs, {"discount": "18.5"}, raw_amount="250000"
    )
    assert errors == {} and data == {"discount": "18.50"} and amount == Decimal("250000.00")
    _d, _a, errors = clean_request_data(Kind.DISCOUNT, specs, {"discount": "101"}, raw_amount="-5")
    assert set(errors) == {"discount", "amount"}
    _d, _a, errors = clean_request_data(Kind.DISCOUNT, specs, {}, raw_amount="1.234")
    assert set(errors) == {"discount", "amount"}
    assert clean_request_data(Kind.GENERAL, [], ["not", "a", "dict"])[2] == {
        "data": ["Form data must be an object of key: value."]
    }


@pytest.mark.parametrize(
    "specs",
    [
        "discount",
        [{"label": "no key"}],
        [{"key": "Bad Key"}],
        [{"key": "days", "type": "integer"}],  # a leave form's own field
        [{"key": "x", "type": "colour"}],
        [{"key": "x", "type": "choice"}],  # choices missing
        [{"key": "x"}, {"key": "x"}],
        [{"key": "x", "min_value": 5, "max_value": 1, "type": "integer"}],
        [{"key": "x", "eval": "1+1"}],
    ],
)
def test_bad_extra_field_specs(specs):
    with pytest.raises(ValidationError):
        validate_extra_field_specs(specs, kind=Kind.LEAVE)


def test_template_clean_normalises_extra_fields(db):
    template = ApprovalTemplate(
        code="x",
        name="X",
        kind=Kind.GENERAL,
        extra_fields=[{"key": "level", "type": "choice", "choices": ["A", "B|Bee"], "required": 1}],
    )
    template.full_clean()
    assert template.extra_fields == [
        {
            "key": "level",
            "label": "level",
            "type": "choice",
            "required": True,
            "choices": [{"value": "A", "label": "A"}, {"value": "B", "label": "Bee"}],
        }
    ]
    template.extra_fields = [{"key": "title"}]
    with pytest.raises(ValidationError) as exc:
        template.full_clean()
    assert "extra_fields" in exc.value.message_dict
