"""Cell normalisers: every spelling exports hold, and only BadValue for anything else.

Cells arrive as calamine gives them (float, int, bool, date, datetime, '') or as CSV text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reactivate.sheets import values
from reactivate.sheets.values import BadValue

D = dt.date
DT = dt.datetime


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  张三 ", "张三"),
        ("上海  浦东\n营业部", "上海 浦东 营业部"),
        ("ＡＢＣ１２３", "ABC123"),
        ("\u3000李四\u3000", "李四"),
        ("", None),
        ("   ", None),
        (None, None),
        (123.0, "123"),
        (12.5, "12.5"),
        (7, "7"),
        (True, "TRUE"),
        (D(2020, 1, 5), "2020-01-05"),
        (DT(2020, 1, 5, 14, 5), "2020-01-05 14:05:00"),
    ],
)
def test_text(raw: object, expected: str | None) -> None:
    assert values.text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0010023456", "0010023456"),
        (" 0010023456 ", "0010023456"),
        (10023457.0, "10023457"),
        (10023457, "10023457"),
        ("10023457.0", "10023457"),  # a CSV written from a float column
        ('="0010023456"', "0010023456"),  # CSV's way of keeping leading zeros
        (' ="0010023456" ', "0010023456"),
        ("A-100", "A-100"),
        ("０１２", "012"),  # full-width digits
        ("\u3000\t0099000001 \n", "0099000001"),  # trimmed
        ("0" * values.MAX_ID_LENGTH, "0" * values.MAX_ID_LENGTH),
        ("", None),
    ],
)
def test_client_id(raw: object, expected: str | None) -> None:
    assert values.client_id(raw) == expected


# Characters that make an id look like another: controls, zero-width, text direction.
INVISIBLE = [
    "\x00",
    "\x07",
    "\x7f",
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u2060",
    "\u200e",
    "\u200f",
    *(chr(code) for code in range(0x202A, 0x202F)),
    *(chr(code) for code in range(0x2066, 0x206A)),
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["start", "inside", "end"])
def test_client_id_refuses_invisible_characters(char: str, where: str) -> None:
    raw = {"start": char + "0099000001", "inside": "0099" + char + "000001"}.get(
        where, "0099000001" + char
    )
    with pytest.raises(BadValue, match=f"U\\+{ord(char):04X}") as caught:
        values.client_id(raw)
    # the reason shows where the character is, without printing it
    assert char not in caught.value.reason
    assert char.encode("unicode_escape").decode() in caught.value.reason


@pytest.mark.parametrize("raw", ["0099 000001", "0099\t000001", "0099\n000001", "0099\u3000000001"])
def test_client_id_refuses_spaces_inside(raw: str) -> None:
    with pytest.raises(BadValue, match="space"):
        values.client_id(raw)


@pytest.mark.parametrize(
    "raw",
    ["0" * (values.MAX_ID_LENGTH + 1), "unterminated," + "a" * 2000, 10 ** (values.MAX_ID_LENGTH)],
)
def test_client_id_refuses_ids_too_long(raw: object) -> None:
    with pytest.raises(BadValue, match=f"at most {values.MAX_ID_LENGTH}") as caught:
        values.client_id(raw)
    assert len(caught.value.reason) < 100  # the start of the cell, not all of it


@pytest.mark.parametrize("raw", ['="="0010023456""', "=A1", '=""0010023456'])
def test_client_id_refuses_formulas(raw: str) -> None:
    with pytest.raises(BadValue, match="formula"):
        values.client_id(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("21792650", "0021792650"),
        ("0021792650", "0021792650"),
        ("12345678901", "12345678901"),  # longer: left as it is
        ("A-100", "A-100"),
        ("-5", "-5"),
        ("٣", "٣"),  # a digit, but not one zeros pad
        (None, None),
    ],
)
def test_pad_id(raw: str | None, expected: str | None) -> None:
    assert values.pad_id(raw, 10) == expected


def test_codes_are_ids() -> None:
    assert values.code("Ａ0001") == "A0001"
    with pytest.raises(BadValue):
        values.code("A0001\u200b")


@pytest.mark.parametrize(
    "raw",
    [
        13812345678.0,
        13812345678,
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "(138)12345678",
        "+86 138 1234 5678",
        "+8613812345678",
        "008613812345678",
        "86-13812345678",
        8613812345678.0,
        "１３８１２３４５６７８",
        "13812345678.0",
        '="13812345678"',
    ],
)
def test_mobile(raw: object) -> None:
    assert values.mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_mobile_blank(raw: object) -> None:
    assert values.mobile(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "23812345678",  # not starting with 1
        "021-12345678",  # a landline
        "1381234567x",
        "13812345678/13912345678",
        1.3812345678e10 + 0.5,
        True,
        D(2020, 1, 1),
    ],
)
def test_mobile_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="not 11 digits"):
        values.mobile(raw)


def test_a_bad_mobile_is_masked_in_the_reason() -> None:
    with pytest.raises(BadValue) as caught:
        values.mobile("138123456789")
    assert "138123456789" not in caught.value.reason
    assert "138****6789" in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (D(2020, 1, 5), D(2020, 1, 5)),
        (DT(2020, 1, 5, 14, 5), D(2020, 1, 5)),
        (43835.0, D(2020, 1, 5)),
        (43835, D(2020, 1, 5)),
        (43835.99, D(2020, 1, 5)),  # the time of day is dropped, not rounded up
        (45107.0, D(2023, 6, 30)),
        (20200105.0, D(2020, 1, 5)),  # yyyymmdd stored as a number
        ("43835", D(2020, 1, 5)),
        ("2020-01-05", D(2020, 1, 5)),
        ("2020/1/5", D(2020, 1, 5)),
        ("2020/01/05", D(2020, 1, 5)),
        ("20200105", D(2020, 1, 5)),
        ("2020.1.5", D(2020, 1, 5)),
        ("2020年1月5日", D(2020, 1, 5)),
        ("２０２０年１月５日", D(2020, 1, 5)),
        ("2020-01-05 00:00:00", D(2020, 1, 5)),
        ("2020-01-05 14:05", D(2020, 1, 5)),
        (" 2020-1-5 ", D(2020, 1, 5)),
        ("", None),
        (None, None),
    ],
)
def test_date(raw: object, expected: D | None) -> None:
    assert values.date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2020-02-30",
        "2020-13-01",
        "20200230",
        "2020/2/30",
        "2020-01-05 25:00",
        "yesterday",
        "1/5/2020",
        "123",  # too small to be a serial written as text
        "2020",
        0.0,
        -5.0,
        1e20,
        float("nan"),
        float("inf"),
        True,
        dt.time(12, 0),
    ],
)
def test_date_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not a date"):
        values.date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (DT(2020, 7, 3, 14, 5), DT(2020, 7, 3, 14, 5)),
        (D(2020, 7, 3), DT(2020, 7, 3)),
        ("2020-07-03 14:05", DT(2020, 7, 3, 14, 5)),
        ("2020-07-03 14:05:09", DT(2020, 7, 3, 14, 5, 9)),
        ("2020-07-03T14:05:09", DT(2020, 7, 3, 14, 5, 9)),
        ("2020/7/3 14:05:00", DT(2020, 7, 3, 14, 5)),
        ("2020/7/3 9:05", DT(2020, 7, 3, 9, 5)),
        ("2020-07-03 14:05:09.5", DT(2020, 7, 3, 14, 5, 9, 500000)),
        ("2020年7月3日 14时05分", DT(2020, 7, 3, 14, 5)),
        ("2020-07-03", DT(2020, 7, 3)),
        ("20200703", DT(2020, 7, 3)),
        ("20200703 140500", DT(2020, 7, 3, 14, 5)),
        (44015.586805555555, DT(2020, 7, 3, 14, 5)),
        ("44015.586805555555", DT(2020, 7, 3, 14, 5)),
        (44015.0, DT(2020, 7, 3)),
        ("", None),
    ],
)
def test_datetime(raw: object, expected: DT | None) -> None:
    assert values.datetime(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["2020-07-03 24:00", "2020-07-03 14:60", "2020-07-03T14:05+08", "14:05", 2958465.99999999],
)
def test_datetime_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not a date"):
        values.datetime(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12345.67, 12345.67),
        (0, 0.0),
        (100, 100.0),
        ("12345.67", 12345.67),
        ("12,345.67", 12345.67),
        ("¥12,345.67", 12345.67),
        ("￥12,345.67", 12345.67),
        ("12345.67元", 12345.67),
        ("１２３４５.６７", 12345.67),
        (" 1 234 ", 1234.0),
        ("-5.5", -5.5),
        ("+5", 5.0),
        ("(1,000.00)", -1000.0),
        (".5", 0.5),
        ("RMB 100", 100.0),
        ("1.2E+4", 12000.0),
        ("", None),
        (None, None),
    ],
)
def test_amount(raw: object, expected: float | None) -> None:
    assert values.amount(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "1.2.3",
        "12元34",
        "nan",
        "inf",
        "1e400",
        "1_000",
        "-",
        float("nan"),
        True,
        D(2020, 1, 1),
    ],
)
def test_amount_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not a number"):
        values.amount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C1", 1),
        ("c5", 5),
        (" C3 ", 3),
        ("Ｃ３", 3),
        ("保守型", 1),
        ("谨慎型", 2),
        ("稳健型", 3),
        ("积极型", 4),
        ("激进型", 5),
        ("稳健", 3),
        ("C3-稳健型", 3),
        ("C3(稳健型)", 3),
        ("C3（稳健型）", 3),
        ("C3 稳健型", 3),
        ("C3稳健型", 3),
        ("稳健型(C3)", 3),
        ("C4级", 4),
        ("4", 4),
        (2.0, 2),
        (5, 5),
        ("", None),
        (None, None),
    ],
)
def test_risk(raw: object, expected: int | None) -> None:
    assert values.risk(raw) == expected


@pytest.mark.parametrize(
    "raw", ["C3-激进型", "保守型(C2)", "C6", "C0", "6", "R3", "中等", 0.0, 2.5, 6, True]
)
def test_risk_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not a risk level"):
        values.risk(raw)


@pytest.mark.parametrize(
    "raw", ["是", "Y", "y", "YES", "Yes", "true", "TRUE", "1", "✓", "✔", "√", " 是 ", 1.0, 1, True]
)
def test_boolean_true(raw: object) -> None:
    assert values.boolean(raw) is True


@pytest.mark.parametrize("raw", ["否", "N", "no", "False", "0", "✗", "×", "✘", 0.0, 0, False])
def test_boolean_false(raw: object) -> None:
    assert values.boolean(raw) is False


@pytest.mark.parametrize("raw", ["", " ", None])
def test_boolean_blank(raw: object) -> None:
    assert values.boolean(raw) is None


@pytest.mark.parametrize("raw", ["maybe", "2", 2.0, "是的吧", D(2020, 1, 1)])
def test_boolean_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not yes or no"):
        values.boolean(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3, 3),
        (3.0, 3),
        ("3", 3),
        (" 3 ", 3),
        ("3.0", 3),
        ("-2", -2),
        ("1,000", 1000),
        ("３", 3),
        ("", None),
        (None, None),
    ],
)
def test_integer(raw: object, expected: int | None) -> None:
    assert values.integer(raw) == expected


@pytest.mark.parametrize("raw", ["3.5", 3.5, "three", "3次", True, float("nan"), float("inf")])
def test_integer_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not a whole number"):
        values.integer(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("在职", True),
        ("在岗", True),
        ("正常", True),
        ("Active", True),
        ("yes", True),
        ("1", True),
        (1.0, True),
        ("离职", False),
        ("left", False),
        ("INACTIVE", False),
        ("no", False),
        ("0", False),
        (0.0, False),
        ("", None),
        (None, None),
    ],
)
def test_active(raw: object, expected: bool | None) -> None:
    assert values.active(raw) is expected


@pytest.mark.parametrize("raw", ["休假", "2", 2.0])
def test_active_rejects(raw: object) -> None:
    with pytest.raises(BadValue, match="is not 在职/离职"):
        values.active(raw)


NORMALISERS: list[Callable[[object], object]] = [
    values.text,
    values.client_id,
    values.mobile,
    values.date,
    values.datetime,
    values.amount,
    values.risk,
    values.boolean,
    values.integer,
    values.active,
]

# Characters that have no place in an id but turn up in exports and pasted cells.
JUNK = "".join(INVISIBLE) + " \t\n\u3000\u00a0\u2028０１Ａ"

# Text shaped like the cells exports hold, plus anything at all.
cell_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789-/.:年月日时分秒 +()¥,元Cc型稳健TtZ", max_size=30),
    st.text(alphabet='0123456789=".aA' + JUNK, max_size=40),
    st.from_regex(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?( \d{1,2}:\d{1,2}(:\d{1,2})?)?"),
)
cells = st.one_of(
    cell_text,
    st.floats(),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(),
    st.times(),
)


@pytest.mark.parametrize("normalise", NORMALISERS, ids=lambda f: f.__name__)
@given(cell=cells)
def test_normalisers_raise_nothing_but_bad_value(
    normalise: Callable[[object], object], cell: object
) -> None:
    try:
        normalise(cell)
    except BadValue as exc:
        assert exc.reason  # a reason the user can read


@given(cell=cells)
@example(cell='="="1""')
@example(cell=' ="1"')
def test_a_client_id_is_plain_and_clean_again(cell: object) -> None:
    """What the parser accepts has no look-alike twin: no space, nothing invisible, not
    too long, and it reads as itself again (so a vectorised twin may pass it through)."""
    try:
        cleaned = values.client_id(cell)
    except BadValue:
        return
    if cleaned is None:
        return
    assert 0 < len(cleaned) <= values.MAX_ID_LENGTH
    assert cleaned.isprintable() and not any(char.isspace() for char in cleaned)
    assert values.client_id(cleaned) == cleaned
