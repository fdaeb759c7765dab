"""The anti-collision key, pinyin keys and phone digits (apps.customers.normalize)."""

from __future__ import annotations

import pytest

from apps.customers.normalize import digits, normalize_name, normalize_query, pinyin_keys

SAME_AS_BEIJING_HUADONG = [
    "北京华东机电有限公司",
    "北京华东机电",
    "北京 华东 机电（有限公司）",
    "北京华东机电(有限公司)",
    "北京华东机电股份有限公司",
    "北京华东机电有限责任公司",
    "北京华东机电集团有限公司",
    "北京华东机电公司",
    "  北京华东机电有限公司  ",
    "北京\u3000华东\t机电\n有限公司",  # ideographic space, tab, newline
    "北京华东机电有限公司。",
    "【北京华东机电】有限公司",
    "北京·华东·机电",
    "北京华东机电有限公司有限公司",  # repeated suffix
    "北京华东机电Co., Ltd.",
    "北京华东机电 Co Ltd",
    "北京华东机电Co.,Ltd",
]


@pytest.mark.parametrize("name", SAME_AS_BEIJING_HUADONG)
def test_chinese_variants_normalise_alike(name):
    assert normalize_name(name) == "北京华东机电"


SAME_AS_ABC = [
    "abc",
    "ABC",
    "ＡＢＣ",  # full-width letters
    "ＡＢＣ Co., Ltd.",
    "ABC Co., Ltd.",
    "ABC Co Ltd",
    "ABC Company Limited",
    "ABC Limited",
    "ABC Ltd.",
    "ABC Inc.",
    "ABC, Inc",
    "ABC Corp.",
    "ABC Corporation",
    "ABC LLC",
    "A.B.C.",
    "a b c",
    "ABC（有限公司）",
    "ABC有限公司",
    "abc co. ltd. limited",  # several trailing suffixes
]


@pytest.mark.parametrize("name", SAME_AS_ABC)
def test_latin_variants_normalise_alike(name):
    assert normalize_name(name) == "abc"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Costco", "costco"),  # a trailing "co" inside a word is part of the name
        ("Disco Ltd", "disco"),
        ("Incorporated Systems", "incorporatedsystems"),  # suffix words only at the end
        ("Limited Edition Co.", "limitededition"),
        ("１２３科技有限公司", "123科技"),  # full-width digits
        ("公司", "公司"),  # nothing but a suffix: kept rather than emptied
        ("Limited", "limited"),
        ("", ""),
        ("   ", ""),
        ("北京分公司", "北京分"),  # 公司 is a suffix; 分 stays (a branch is its own account)
        ("华为技术有限公司", "华为技术"),
        ("Johnson & Johnson", "johnsonjohnson"),
        ("Ｍｉｃｒｏｓｏｆｔ（中国）有限公司", "microsoft中国"),
    ],
)
def test_edge_cases(name, key):
    assert normalize_name(name) == key


def test_different_companies_stay_different():
    assert normalize_name("北京华东机电") != normalize_name("北京华东电机")
    assert normalize_name("华东机电（北京）有限公司") != normalize_name("北京华东机电有限公司")
    assert normalize_name("ABC Trading Ltd") != normalize_name("ABC Ltd")


def test_query_keeps_suffix_words():
    assert normalize_query("有限公司") == "有限公司"
    assert normalize_query("ＡＢＣ Co.") == "abcco"


@pytest.mark.parametrize(
    ("text", "full", "initials"),
    [
        ("张三", "zhangsan", "zs"),
        ("李小龙", "lixiaolong", "lxl"),
        ("重庆火锅", "chongqinghuoguo", "cqhg"),  # phrase reading of 重
        ("IBM中国", "ibmzhongguo", "ibmzg"),
        ("ABC", "abc", "abc"),
        ("１２３科技", "123keji", "123kj"),
        ("", "", ""),
    ],
)
def test_pinyin_keys(text, full, initials):
    assert pinyin_keys(text) == (full, initials)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+86 138-0000 1234", "13800001234"),
        ("0086 13800001234", "13800001234"),
        ("8613800001234", "13800001234"),
        ("010-6552 9988", "01065529988"),
        ("（０１０）６５５２９９８８", "01065529988"),  # full-width
        ("", ""),
    ],
)
def test_phone_digits(phone, expected):
    assert digits(phone) == expected
