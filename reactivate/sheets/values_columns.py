"""Clean a whole column at once: `values`' parsers, applied to a polars Series.

Each parser in `values` has a vectorised twin here for the spellings exports hold a
million times over (an id of digits, a name of plain characters, a mobile as eleven
digits or as a number, an amount as a plain number, a date or date-time cell). The twin vouches only
for cells whose clean value it knows to be exactly what the parser would return; every
other cell goes to the parser itself, once per distinct value. So the rules live in one
place (`values`), and the twins are only shortcuts that a test holds to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reactivate.sheets import values
from reactivate.sheets.values import BadValue

if TYPE_CHECKING:
    import polars as pl

Parser = Callable[[object], Any]
#: (clean values, whether the twin vouches for each): the values count only where it does.
Twin = Callable[["pl.Series"], tuple["pl.Series", "pl.Series"]]

# Characters NFKC leaves alone and Python's str.strip() keeps: printable ASCII but the
# space, and the CJK unified ideographs (blocks Extension A and the main block).
_PLAIN = r"[\x21-\x7e\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}]"
# Text `values.text` returns as it is: plain characters, single spaces between them.
_PLAIN_TEXT = rf"^{_PLAIN}+(?: {_PLAIN}+)*$"


@dataclass(frozen=True)
class Cleaned:
    values: pl.Series  # the clean value per cell, null for a blank or a bad cell
    problems: pl.Series  # the reason per bad cell (user text), null elsewhere

    def any_problem(self) -> bool:
        return self.problems.null_count() < len(self.problems)


def clean(raw: pl.Series, parse: Parser, dtype: Any = None) -> Cleaned:
    """`parse` applied to every cell of `raw`: by its twin where it vouches, else by `parse`
    once per distinct value. `dtype` is the clean values' type, for a parser `output_type`
    does not know."""
    import polars as pl

    dtype = dtype if dtype is not None else output_type(parse)
    twin = _TWINS.get(parse)
    fast, vouched = twin(raw) if twin is not None else _nothing(raw, dtype)
    blank = raw.is_null()
    empty = None
    if raw.dtype == pl.String:
        empty = raw == ""
        blank = blank | empty
    todo_cells = ~(vouched.fill_null(False) | blank)
    todo = raw.filter(todo_cells).unique()
    no_problems = _none(raw, pl.String)
    if len(todo) == 0:
        # The common case: every cell vouched for or blank, and the twin's values are the
        # cells themselves where it copies text; blanks that read as '' become None.
        if empty is not None and fast.dtype == pl.String and empty.any():
            fast = fast.zip_with(~empty, fast.clear(len(fast)))
        return Cleaned(fast, no_problems)
    parsed: dict[object, object] = {}
    bad: dict[object, str] = {}
    for cell in todo.to_list():
        try:
            parsed[cell] = parse(as_cell(cell))
        except BadValue as problem:
            bad[cell] = problem.reason
    slow = raw.replace_strict(list(parsed), list(parsed.values()), default=None, return_dtype=dtype)
    values = fast.zip_with(vouched.fill_null(False) & ~blank, slow)
    if not bad:
        return Cleaned(values, no_problems)
    problems = raw.replace_strict(
        list(bad), list(bad.values()), default=None, return_dtype=pl.String
    )
    return Cleaned(values, problems)


def as_cell(value: object) -> object:
    """A value as python-calamine gives the cell: a date-time at midnight is a date."""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


# ---------------------------------------------------------------------------- twins


def _client_id(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if raw.dtype == pl.String:
        return raw, raw.str.contains(rf"^[0-9]{{1,{values.MAX_ID_LENGTH}}}$")
    if raw.dtype == pl.Float64:
        # at most 16 digits and a sign: within MAX_ID_LENGTH
        whole = (raw == raw.floor()) & (raw.abs() < 1e16)
        return raw.cast(pl.Int64, strict=False).cast(pl.String), whole
    return _nothing(raw, pl.String)


def pad_ids(ids: pl.Series, width: int) -> pl.Series:
    """`values.pad_id` of each clean id of `ids`."""
    keep = ~(ids.str.contains("^[0-9]+$") & (ids.str.len_chars() < width))
    return ids.zip_with(keep.fill_null(True), ids.str.zfill(width))


def _text(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if raw.dtype == pl.String:
        return raw, raw.str.contains(_PLAIN_TEXT)
    return _nothing(raw, pl.String)


def _mobile(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if raw.dtype == pl.String:
        return raw, raw.str.contains(r"^1[0-9]{10}$")
    if raw.dtype == pl.Float64:
        number = (raw >= 1e10) & (raw < 2e10) & (raw == raw.floor())
        return raw.cast(pl.Int64, strict=False).cast(pl.String), number
    return _nothing(raw, pl.String)


def _amount(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if raw.dtype == pl.String:
        number = raw.cast(pl.Float64, strict=False)
        return number, raw.str.contains(r"^-?[0-9]+(?:\.[0-9]+)?$") & number.is_finite()
    if raw.dtype == pl.Float64:
        return raw, raw.is_finite()
    return _nothing(raw, pl.Float64)


def _date(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if raw.dtype == pl.Date:
        return raw, raw.is_not_null()
    if isinstance(raw.dtype, pl.Datetime):
        # the time of day is dropped, as `values.date` does
        return raw.cast(pl.Date), raw.is_not_null()
    return _nothing(raw, pl.Date)  # text dates and serials repeat: the parser takes each once


def _datetime(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    import polars as pl

    if isinstance(raw.dtype, pl.Datetime | pl.Date):
        # a date cell is midnight, as `values.datetime` makes it
        return raw.cast(pl.Datetime("us")), raw.is_not_null()
    return _nothing(raw, pl.Datetime("us"))  # text times repeat: the parser takes each once


def _nothing(raw: pl.Series, dtype: Any) -> tuple[pl.Series, pl.Series]:
    """A twin that vouches for no cell."""
    import polars as pl

    return _none(raw, dtype), _none(raw, pl.Boolean)


def _none(raw: pl.Series, dtype: Any) -> pl.Series:
    import polars as pl

    return pl.Series(raw.name, [], dtype).extend_constant(None, len(raw))


def output_type(parse: Parser) -> Any:
    import polars as pl

    types: dict[Parser, Any] = {
        values.client_id: pl.String,
        values.text: pl.String,
        values.mobile: pl.String,
        values.amount: pl.Float64,
        values.date: pl.Date,
        values.datetime: pl.Datetime("us"),
        values.boolean: pl.Boolean,
        values.risk: pl.Int64,
    }
    return types[parse]


_TWINS: dict[Parser, Twin] = {
    values.client_id: _client_id,
    values.text: _text,
    values.mobile: _mobile,
    values.amount: _amount,
    values.date: _date,
    values.datetime: _datetime,
}
