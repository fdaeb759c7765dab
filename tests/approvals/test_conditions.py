"""The step condition language: safe, small, and exactly what the admin wrote."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from apps.approvals.conditions import (
    evaluate,
    normalise_condition,
    rules_to_text,
    text_to_condition,
)

SALES = SimpleNamespace(pk=7, name="销售部")


def ctx(amount="0", department=SALES, **data):
    return {"amount": Decimal(amount), "department": department, "data": data}


def cond(*rules, match="all"):
    return normalise_condition(
        {"match": match, "rules": [{"field": f, "op": o, "value": v} for f, o, v in rules]}
    )


@pytest.mark.parametrize(
    ("op", "value", "amount", "expected"),
    [
        ("gt", "100000", "100000.01", True),
        ("gt", "100000", "100000", False),
        ("gte", "500000", "500000", True),
        ("gte", "500000", "499999.99", False),
        ("lt", "500000", "499999.99", True),
        ("lte", 500000, "500000.00", True),
        ("eq", "10", "10.00", True),
        ("ne", "10", "10.00", False),
        ("in", ["1", "2", "3"], "2", True),
    ],
)
def test_amount_comparisons(op, value, amount, expected):
    assert evaluate(cond(("amount", op, value)), ctx(amount)) is expected


def test_data_fields_numbers_text_dates_and_lists():
    assert evaluate(cond(("data.days", "gt", 3)), ctx(days="3.5"))
    assert not evaluate(cond(("data.days", "gt", 3)), ctx(days="3.0"))
    assert evaluate(cond(("data.type", "eq", "ANNUAL")), ctx(type="annual"))
    assert evaluate(cond(("data.start", "gte", "2026-12-01")), ctx(start="2026-12-24"))
    assert not evaluate(cond(("data.start", "lt", "2026-12-01")), ctx(start="2026-12-24"))
    assert evaluate(cond(("data.tags", "contains", "vip")), ctx(tags=["new", "vip"]))
    assert evaluate(cond(("data.note", "contains", "urgent")), ctx(note="Very URGENT order"))
    assert evaluate(cond(("data.region", "in", "华东, 华北")), ctx(region="华北"))


def test_missing_values_are_false_except_ne():
    assert not evaluate(cond(("data.days", "gt", 3)), ctx())
    assert not evaluate(cond(("data.days", "eq", "")), ctx(days=""))
    assert evaluate(cond(("data.days", "ne", 3)), ctx())
    assert not evaluate(cond(("data.days", "gt", 3)), ctx(days="many"))


def test_department_matches_by_name_or_id():
    assert evaluate(cond(("department", "eq", "销售部")), ctx())
    assert evaluate(cond(("department", "eq", "7")), ctx())
    assert evaluate(cond(("department", "in", ["财务部", 7])), ctx())
    assert evaluate(cond(("department", "ne", "财务部")), ctx())
    assert not evaluate(cond(("department", "eq", "销售部")), ctx(department=None))


def test_all_and_any():
    rules = (("amount", "gt", "100"), ("data.days", "gt", "3"))
    assert not evaluate(cond(*rules), ctx("200", days="1"))
    assert evaluate(cond(*rules, match="any"), ctx("200", days="1"))
    assert evaluate(cond(*rules), ctx("200", days="5"))


def test_no_rules_always_holds():
    assert normalise_condition(None) == {}
    assert normalise_condition({"match": "any", "rules": []}) == {}
    assert evaluate({}, ctx()) is True


@pytest.mark.parametrize(
    "bad",
    [
        "amount > 5",
        {"match": "some", "rules": []},
        {"rules": [{"field": "__import__('os')", "op": "eq", "value": 1}]},
        {"rules": [{"field": "amount", "op": "__eq__", "value": 1}]},
        {"rules": [{"field": "data.x", "op": "eq", "value": {"a": 1}}]},
        {"rules": [{"field": "data.x", "op": "in", "value": []}]},
        {"rules": [{"field": "department", "op": "gt", "value": "a"}]},
        {"rules": [{"field": "initiator.is_superuser", "op": "eq", "value": True}]},
        {"rules": "amount"},
    ],
)
def test_refuses_anything_but_the_rule_language(bad):
    with pytest.raises(ValidationError):
        normalise_condition(bad)


def test_text_form_round_trip():
    condition = text_to_condition("amount gte 100000\ndata.days gt 3\n\n", match="any")
    assert condition == {
        "match": "any",
        "rules": [
            {"field": "amount", "op": "gte", "value": "100000"},
            {"field": "data.days", "op": "gt", "value": "3"},
        ],
    }
    assert rules_to_text(condition) == "amount gte 100000\ndata.days gt 3"
    assert text_to_condition("department in 销售部, 市场部")["rules"][0]["value"] == [
        "销售部",
        "市场部",
    ]
    with pytest.raises(ValidationError):
        text_to_condition("amount >")
