"""Turn raw cells into clean values.

A cell arrives as python-calamine gives it (float for any number, int, bool, `date`,
`datetime`, '' for a blank) or as the `str` the csv module gives. Each function returns
the clean value, None for a blank, or raises `BadValue` whose `reason` is user text.

These run about ten million times in a million-row load, so each starts with the cases
exports usually hold (an `isinstance` check, a precompiled pattern) and only then tries
the rarer spellings; the happy path raises no exception.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata

from reactivate.messages import t
from reactivate.privacy import mask_mobile

__all__ = [
    "MAX_ID_LENGTH",
    "PADDED_LOOKUPS",
    "BadValue",
    "active",
    "amount",
    "boolean",
    "client_id",
    "code",
    "date",
    "datetime",
    "integer",
    "longer_widths",
    "mobile",
    "pad_id",
    "risk",
    "text",
]


class BadValue(ValueError):
    """A cell that cannot be read as the value its column holds; `reason` is user text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)
_EXCEL_EPOCH_ORDINAL = _EXCEL_EPOCH.toordinal()
# Excel's last day is 9999-12-31, serial 2958465.
_MAX_SERIAL = 2958465.0
_SERIAL_END = _MAX_SERIAL + 1  # serials below this, with a time of day, are still dates
# A number written as text is taken as a serial only in this range (1927-05-18 to
# 2173-10-14): '123' or '7' in a date column is a typo, not 1900-05-02.
_TEXT_SERIAL_MIN, _TEXT_SERIAL_MAX = 10000.0, 99999.0

_WHITESPACE_RUN = re.compile(r"\s+")


def _display(value: object) -> str:
    """The cell as the user would recognise it, for a rejection reason."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value).strip()


def _fold(value: str) -> str:
    """Full-width to half-width, trimmed; ASCII skips the normalisation (the common case)."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


def _is_number(value: object) -> bool:
    # bool is an int subclass, but TRUE in a number column is not a number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- text


def text(value: object) -> str | None:
    """Trimmed text with whitespace runs as one space and full-width folded; None if blank.

    >>> text("  张  三 ")
    '张 三'
    >>> text(10023457.0)
    '10023457'
    """
    if isinstance(value, str):
        if not value.isascii():
            value = unicodedata.normalize("NFKC", value)
        stripped = value.strip()
        if not stripped:
            return None
        if "  " in stripped or "\n" in stripped or "\t" in stripped or "\r" in stripped:
            stripped = _WHITESPACE_RUN.sub(" ", stripped)
        return stripped
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return text(str(value))


def _unwrap_formula(value: str) -> str:
    # CSV exports keep leading zeros by writing ="0010023456"; the csv module hands us
    # the formula text.
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        return value[2:-1]
    return value


#: The longest id accepted. Core systems issue client numbers and fund accounts of 10 to
#: 20 characters; 32 leaves room for any of them (and for a 32-digit hex key), while a
#: longer "id" is a note pasted into the column or a CSV whose unclosed quote swallowed
#: the rows after it.
MAX_ID_LENGTH = 32
#: How much of a rejected id a reason shows: enough to find the row's cell.
_ID_SHOWN = 20


def client_id(value: object) -> str | None:
    """A client id (or an advisor or branch code) as text: full-width folded, trimmed,
    leading zeros kept, ids stored as numbers lose their '.0'.

    An id is compared character for character, so one that holds a space, a control
    character or an invisible one (zero-width, a text-direction mark) would be a second
    client that looks like the first: such ids are refused, as are ids longer than
    MAX_ID_LENGTH.

    >>> client_id("0010023456")
    '0010023456'
    >>> client_id(10023457.0)
    '10023457'
    >>> client_id("００１")
    '001'
    """
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= MAX_ID_LENGTH:
            return value
        cleaned = _fold(value)
        if cleaned.startswith("="):
            cleaned = _unwrap_formula(cleaned).strip()
        if not cleaned:
            return None
        if cleaned.startswith("="):  # a formula's text, or a formula in a formula
            raise BadValue(t("reject.id_formula", value=_shown_id(cleaned)))
        # A CSV written by pandas from a float column spells ids 10023457.0.
        if cleaned.endswith(".0") and cleaned[:-2].isdigit():
            cleaned = cleaned[:-2]
        return _checked_id(cleaned)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    spelled = text(value)
    return None if spelled is None else _checked_id(spelled)


#: Advisor and branch codes are ids under the same rules.
code = client_id


#: A file's all-digit ids are looked up padded to every longer width up to MAX_ID_LENGTH
#: when that makes at most this many lookups (an advisor's sheet of 2,000 ids of 10
#: digits: 44,000; 0.02-0.11 s at 10M clients), rather than padded only to the widths the
#: database's ids have, which only a read of every id tells (0.2-0.3 s at 1M clients on
#: SQLite, 1.8-2.9 s at 10M on PostgreSQL: small beside the work of a bigger file).
PADDED_LOOKUPS = 50_000


def longer_widths(shortest: int, lookups: int) -> range | None:
    """Every width ids at least `shortest` long may have lost zeros from, when their ids
    padded to each (`lookups` of them) are few enough to look up (`PADDED_LOOKUPS`); None
    when they are not, and the widths the database's ids have must be read instead.

    >>> longer_widths(30, 3), longer_widths(8, 10**6)
    (range(31, 33), None)
    """
    return range(shortest + 1, MAX_ID_LENGTH + 1) if lookups <= PADDED_LOOKUPS else None


def pad_id(client_id: str | None, width: int) -> str | None:
    """`client_id` left-padded with zeros to `width` when it is shorter and all digits:
    an id Excel saved as a number, which dropped its leading zeros.

    >>> pad_id("21792650", 10), pad_id("A-100", 10)
    ('0021792650', 'A-100')
    """
    if (
        client_id is not None
        and len(client_id) < width
        and client_id.isascii()
        and client_id.isdigit()
    ):
        return client_id.zfill(width)
    return client_id


def _checked_id(cleaned: str) -> str:
    """`cleaned` if it is an id; BadValue naming what is wrong with it otherwise."""
    if len(cleaned) > MAX_ID_LENGTH:
        shown = _shown_id(cleaned[:_ID_SHOWN]) + "…"
        raise BadValue(
            t("reject.id_too_long", value=shown, length=len(cleaned), most=MAX_ID_LENGTH)
        )
    # str.isprintable() is False for every control, format, private-use, unassigned and
    # separator character but the ASCII space.
    if cleaned.isprintable() and " " not in cleaned:
        return cleaned
    shown = _shown_id(cleaned)
    found = next(char for char in cleaned if char.isspace() or not char.isprintable())
    if found.isspace():
        raise BadValue(t("reject.id_space", value=shown))
    raise BadValue(t("reject.id_invisible", value=shown, char=f"U+{ord(found):04X}"))


def _shown_id(value: str) -> str:
    """`value` with every character a terminal would not show as it is escaped (\\u200b)."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in value
    )


# -------------------------------------------------------------------------- mobile

_MOBILE_SEPARATORS = re.compile(r"[\s\-‐–—()\[\]]")
_MOBILE = re.compile(r"(?:\+?86|0086)?(1\d{10})")


def _bad_mobile(value: object) -> BadValue:
    # Reasons reach stderr and logs, which must not show a whole mobile number.
    return BadValue(t("reject.bad_mobile", value=mask_mobile(_display(value))))


def mobile(value: object) -> str | None:
    """Eleven digits starting with 1, from a number, or text with +86, spaces or dashes.

    >>> mobile(13812345678.0)
    '13812345678'
    >>> mobile("+86 138-1234-5678")
    '13812345678'
    """
    if isinstance(value, str):
        if len(value) == 11 and value[0] == "1" and value.isascii() and value.isdigit():
            return value
        folded = _fold(value)
        if not folded:
            return None
        if folded.startswith("="):
            folded = _unwrap_formula(folded)
        digits = _MOBILE_SEPARATORS.sub("", folded)
        if digits.endswith(".0"):
            digits = digits[:-2]
        match = _MOBILE.fullmatch(digits)
        if match is None:
            raise _bad_mobile(value)
        return match.group(1)
    if isinstance(value, float) and 1e10 <= value < 2e10 and value.is_integer():
        return str(int(value))  # a mobile stored as a number, the usual case in workbooks
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
        if not number.is_integer() or not abs(number) < 1e16:
            raise _bad_mobile(value)
        match = _MOBILE.fullmatch(str(int(number)))
        if match is None:
            raise _bad_mobile(value)
        return match.group(1)
    if value is None:
        return None
    raise _bad_mobile(value)


# --------------------------------------------------------------------------- dates

_TIME = r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?)?"
_DATE_TIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?" + _TIME,
)
_COMPACT_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})" + r"(?:[ T]?(\d{2})(\d{2})(\d{2})?)?")
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")


def _bad_date(value: object) -> BadValue:
    return BadValue(t("reject.bad_date", value=_display(value)))


def _from_serial(serial: float, value: object) -> _dt.datetime:
    """Excel's day count from 1899-12-30, the fraction being the time of day."""
    if not 0 < serial <= _MAX_SERIAL:
        raise _bad_date(value)
    # Round to the second: 14:05 is stored as 0.586805555..., not exactly.
    seconds = round(serial * 86400)
    try:
        return _EXCEL_EPOCH + _dt.timedelta(seconds=seconds)
    except OverflowError:  # a hair before serial 2958466 rounds past 9999-12-31
        raise _bad_date(value) from None


def _from_number(number: float, value: object) -> _dt.datetime:
    """A number in a date column: 20200105 spelled as a number, else a serial."""
    if 19000101 <= number <= 99991231 and number.is_integer():
        whole = int(number)
        return _make(whole // 10000, whole // 100 % 100, whole % 100, 0, 0, 0, 0, value)
    return _from_serial(number, value)


def _make(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    micro: int,
    value: object,
) -> _dt.datetime:
    try:
        return _dt.datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        raise _bad_date(value) from None


def _parse_text_datetime(value: str) -> _dt.datetime | None:
    """A date or date-time spelled as text, None if blank; BadValue if not a date."""
    folded = _fold(value)
    if not folded:
        return None
    if "时" in folded:  # 14时05分09秒
        folded = folded.replace("时", ":").replace("分", ":").replace("秒", "").rstrip(":")
    match = _DATE_TIME.fullmatch(folded) or _COMPACT_DATE_TIME.fullmatch(folded)
    if match is not None:
        parts = [int(part) if part else 0 for part in match.groups()]
        fraction = match.groups()[6] if len(parts) == 7 else None
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        year, month, day, hour, minute, second = (parts + [0, 0, 0])[:6]
        return _make(year, month, day, hour, minute, second, micro, value)
    if _SERIAL_TEXT.fullmatch(folded):
        serial = float(folded)
        if _TEXT_SERIAL_MIN <= serial <= _TEXT_SERIAL_MAX:
            return _from_serial(serial, value)
    raise _bad_date(value)


def date(value: object) -> _dt.date | None:
    """A calendar date from a date cell, a serial, or text; any time of day is dropped.

    >>> date("2020/1/5"), date(43835.0), date("20200105")
    (datetime.date(2020, 1, 5), datetime.date(2020, 1, 5), datetime.date(2020, 1, 5))
    """
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        if len(value) == 19 and value.endswith(" 00:00:00"):
            value = value[:10]  # how pandas writes a date column to CSV
        if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass  # the slow path below says why
        parsed = _parse_text_datetime(value)
        return None if parsed is None else parsed.date()
    if isinstance(value, float) and 0 < value < _SERIAL_END:
        # int() drops the time of day: 23:59:59.9 is still that day.
        return _dt.date.fromordinal(_EXCEL_EPOCH_ORDINAL + int(value))
    if _is_number(value):
        return _from_number(float(value), value).date()  # type: ignore[arg-type]
    if value is None:
        return None
    raise _bad_date(value)


def datetime(value: object) -> _dt.datetime | None:
    """A naive wall-clock date-time; a bare date is midnight.

    >>> datetime("2020/7/3 14:05")
    datetime.datetime(2020, 7, 3, 14, 5)
    """
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        if (
            len(value) == 19
            and value[4] == value[7] == "-"
            and value[10] in " T"
            and value[13] == value[16] == ":"
            and value.isascii()
        ):
            try:
                return _dt.datetime.fromisoformat(value)
            except ValueError:
                pass  # the slow path below says why
        return _parse_text_datetime(value)
    if isinstance(value, float) and 0 < value <= _MAX_SERIAL and value.is_integer():
        return _dt.datetime.fromordinal(_EXCEL_EPOCH_ORDINAL + int(value))
    if _is_number(value):
        return _from_number(float(value), value)  # type: ignore[arg-type]
    if value is None:
        return None
    raise _bad_date(value)


# ------------------------------------------------------------------------- numbers

_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_LEADING_DOT = re.compile(r"-?\d*\.\d+")
_THOUSANDS = re.compile(r"[,\s]")
_CURRENCY = re.compile(r"(?:[¥$]|rmb|cny)?(.*?)(?:元|rmb|cny)?", re.IGNORECASE)


def _bad_number(value: object) -> BadValue:
    return BadValue(t("reject.bad_number", value=_display(value)))


def amount(value: object) -> float | None:
    """A sum of money in yuan: numbers, '12,345.67', '¥12,345.67', '12345.67元'.

    >>> amount("¥12,345.67")
    12345.67
    """
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise _bad_number(value)
    if isinstance(value, str):
        if value and value[-1].isdigit() and value.isascii():
            # float() reads '12345.67' fastest; ending in a digit rules out 'nan' and
            # 'inf', and '1.2E+10' (how Excel saves big numbers to CSV) is a number.
            # '12,345.67' raises and takes the slow path.
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if "_" not in value and math.isfinite(number):  # '1e400' is inf
                    return number
        folded = _fold(value)
        if not folded:
            return None
        cleaned = _THOUSANDS.sub("", folded)
        currency = _CURRENCY.fullmatch(cleaned)
        assert currency is not None  # any text matches: the middle group takes what is left
        cleaned = currency.group(1)
        negative = cleaned.startswith("(") and cleaned.endswith(")")  # accounting style
        if negative:
            cleaned = cleaned[1:-1]
        if cleaned.startswith("+"):
            cleaned = cleaned[1:]
        if not _PLAIN_NUMBER.fullmatch(cleaned) and not _LEADING_DOT.fullmatch(cleaned):
            raise _bad_number(value)
        number = float(cleaned)
        return -number if negative else number
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if value is None:
        return None
    raise _bad_number(value)


def _bad_int(value: object) -> BadValue:
    return BadValue(t("reject.bad_int", value=_display(value)))


_INTEGER_TEXT = re.compile(r"[-+]?\d+(?:\.0*)?")


#: The largest whole number a sheet may give (either sign): PostgreSQL's INTEGER, the
#: narrowest column one is stored in (a roster's capacity, a client's call attempts).
MAX_INTEGER = 2**31 - 1


def integer(value: object) -> int | None:
    """A whole number: 3, 3.0, '3', '1,000', at most `MAX_INTEGER` either side of 0.

    >>> integer(3.0), integer("1,000")
    (3, 1000)
    """
    number = _whole(value)
    if number is not None and abs(number) > MAX_INTEGER:
        limit = f"{MAX_INTEGER:,}"
        raise BadValue(t("reject.int_too_big", value=_display(value), limit=limit))
    return number


def _whole(value: object) -> int | None:
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return int(value)
        folded = _fold(value).replace(",", "")
        if not folded:
            return None
        if not _INTEGER_TEXT.fullmatch(folded):
            raise _bad_int(value)
        return int(folded.partition(".")[0])
    if isinstance(value, bool):
        raise _bad_int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _bad_int(value)
    if value is None:
        return None
    raise _bad_int(value)


# ---------------------------------------------------------------------- categories

_RISK_WORDS = {"保守": 1, "谨慎": 2, "稳健": 3, "积极": 4, "激进": 5}
# Spellings seen, as typed: a sheet repeats a handful of them ('C3-稳健型') a million times.
_RISK_KNOWN = {f"{c}{n}": n for n in range(1, 6) for c in "Cc"}
_RISK_KNOWN_MAX = 1000
_RISK_SEP = r"[\s\-_()\[\]:/、,|]*"
_RISK_WORD = r"(保守|谨慎|稳健|积极|激进)型?"
_RISK_LEVEL = r"c([1-5])级?"
_RISK_LEVEL_FIRST = re.compile(f"{_RISK_SEP}{_RISK_LEVEL}(?:{_RISK_SEP}{_RISK_WORD})?{_RISK_SEP}")
_RISK_WORD_FIRST = re.compile(f"{_RISK_SEP}{_RISK_WORD}(?:{_RISK_SEP}{_RISK_LEVEL})?{_RISK_SEP}")


def _bad_risk(value: object) -> BadValue:
    return BadValue(t("reject.bad_risk", value=_display(value)))


def risk(value: object) -> int | None:
    """Risk tolerance 1-5 from C1-C5, 保守型..激进型, both ('C3-稳健型'), or 1-5.

    >>> risk("C3(稳健型)"), risk("激进型"), risk(2.0)
    (3, 5, 2)
    """
    if isinstance(value, str):
        known = _RISK_KNOWN.get(value)
        if known is not None:
            return known
        level = _risk_text(value)
        if level is not None and len(_RISK_KNOWN) < _RISK_KNOWN_MAX:
            _RISK_KNOWN[value] = level
        return level
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
        if number in (1.0, 2.0, 3.0, 4.0, 5.0):
            return int(number)
        raise _bad_risk(value)
    if value is None:
        return None
    raise _bad_risk(value)


def _risk_text(value: str) -> int | None:
    folded = _fold(value).casefold()
    if not folded:
        return None
    if folded in ("1", "2", "3", "4", "5"):
        return int(folded)
    match = _RISK_LEVEL_FIRST.fullmatch(folded)
    if match is not None:
        level, word = match.group(1), match.group(2)
    else:
        match = _RISK_WORD_FIRST.fullmatch(folded)
        if match is None:
            raise _bad_risk(value)
        word, level = match.group(1), match.group(2)
    by_level = int(level) if level else None
    by_word = _RISK_WORDS[word] if word else None
    if by_level is not None and by_word is not None and by_level != by_word:
        raise _bad_risk(value)
    result = by_level if by_level is not None else by_word
    assert result is not None  # the patterns match only with a level or a word
    return result


_TRUE_WORDS = ("是", "y", "yes", "true", "1", "1.0", "✓", "✔", "√")
_FALSE_WORDS = ("否", "n", "no", "false", "0", "0.0", "✗", "×", "✘")
_BOOLEANS = {word: True for word in _TRUE_WORDS} | {word: False for word in _FALSE_WORDS}


def _bad_bool(value: object) -> BadValue:
    return BadValue(t("reject.bad_bool", value=_display(value)))


def _lookup(table: dict[str, bool], value: str) -> bool | None:
    """`value` in `table` as typed, else after folding; None when blank; KeyError if unknown."""
    found = table.get(value)
    if found is not None:
        return found
    folded = _fold(value).casefold()
    if not folded:
        return None
    return table[folded]


def boolean(value: object) -> bool | None:
    """Yes or no: 是/否, Y/N, yes/no, true/false, 1/0, ✓/✗.

    >>> boolean("是"), boolean("N"), boolean(1.0)
    (True, False, True)
    """
    if isinstance(value, str):
        try:
            return _lookup(_BOOLEANS, value)
        except KeyError:
            raise _bad_bool(value) from None
    if isinstance(value, bool):
        return value
    if _is_number(value) and value in (0, 1):
        return value == 1
    if value is None:
        return None
    raise _bad_bool(value)


_ACTIVE_WORDS = ("在职", "在岗", "正常", "active", "yes", "y", "是", "true", "1", "1.0")
_INACTIVE_WORDS = ("离职", "left", "inactive", "no", "n", "否", "false", "0", "0.0")
_ACTIVE = {word: True for word in _ACTIVE_WORDS} | {word: False for word in _INACTIVE_WORDS}


def active(value: object) -> bool | None:
    """An advisor's status: 在职/在岗/正常/active -> True, 离职/left/inactive -> False.

    >>> active("在职"), active("离职"), active("")
    (True, False, None)
    """
    if isinstance(value, str):
        try:
            return _lookup(_ACTIVE, value)
        except KeyError:
            raise BadValue(t("reject.bad_status", value=_display(value))) from None
    if isinstance(value, bool):
        return value
    if _is_number(value) and value in (0, 1):
        return value == 1
    if value is None:
        return None
    raise BadValue(t("reject.bad_status", value=_display(value)))
