"""Upload sniffing: a CSV is recognised by its content, also when the sniffed head cuts a
Chinese character in half (found by the customers import benchmark)."""

from __future__ import annotations

from apps.studio.imports import sniff_format


def test_utf8_csv_whose_head_cuts_a_character_is_still_csv():
    text = ("名称,电话\n" + "上海示例科技有限公司,13800000000\n" * 200).encode("utf-8")
    for cut in range(4090, 4097):  # every split point of a 3-byte character
        assert sniff_format(text[:cut], "customers.csv") == "csv"


def test_gb18030_csv_is_csv():
    assert sniff_format("名称,电话\n张三,1\n".encode("gb18030"), "x.csv") == "csv"


def test_binary_and_xlsx():
    assert sniff_format(b"PK\x03\x04rest", "x.xlsx") == "xlsx"
    assert sniff_format(b"\x00\x01\x02", "x.csv") is None
    assert sniff_format(b"\xff\xfe\xfa\xfb\xfc", "x.csv") is None
