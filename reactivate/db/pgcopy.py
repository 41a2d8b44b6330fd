"""PostgreSQL's binary COPY format, written from polars columns a part at a time.

Text COPY makes the server parse every field (a date, an integer, a float from its digits);
binary COPY hands it each value as it is stored. psycopg writes binary COPY a row at a
time through Python objects, and ADBC's PostgreSQL driver writes it from Arrow but on a
connection of its own, outside the load's transaction; so the rows are laid out here, a
column at a time with numpy over each column's values (benchmarks/README.md, the tenth
pass of a PostgreSQL load).

The format (PostgreSQL's `COPY` page, "Binary Format"): a header (the signature, a 32-bit
flags field, a 32-bit header extension length), then per row a 16-bit field count and per
field a 32-bit length (-1 for NULL) and the value in the type's `send` form, big-endian;
then a 16-bit -1. Values sent here, by the table column's SQL type:

| SQL type | polars column | value |
| --- | --- | --- |
| TEXT | String | its UTF-8 bytes |
| INTEGER, BIGINT | any integer | 4 or 8 bytes, two's complement |
| DOUBLE PRECISION | Float32/64 | the IEEE 754 double |
| DATE | Date | 4 bytes: days since 2000-01-01 |
| TIMESTAMP WITH TIME ZONE | Datetime with a time zone | 8 bytes: microseconds since 2000-01-01 UTC |
| BOOLEAN | Boolean | 1 byte, 0 or 1 |

Anything else (NUMERIC, a naive Datetime into a time zone's column, a String into DATE)
is not sent this way: `encodable` says so, and the caller writes text COPY instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
#: the signature, no flags (no OIDs), no header extension
HEADER = SIGNATURE + bytes(4) + bytes(4)
TRAILER = b"\xff\xff"

#: days and microseconds from the Unix epoch (polars') to PostgreSQL's, 2000-01-01
_EPOCH_DAYS = 10_957
_EPOCH_MICROSECONDS = _EPOCH_DAYS * 86_400 * 1_000_000

#: the wire width in bytes of each fixed-width SQL type, and numpy's big-endian form
_FIXED = {
    "INTEGER": (4, ">i4"),
    "BIGINT": (8, ">i8"),
    "DOUBLE PRECISION": (8, ">f8"),
    "DATE": (4, ">i4"),
    "TIMESTAMP WITH TIME ZONE": (8, ">i8"),
    "BOOLEAN": (1, "u1"),
}


def encodable(frame: pl.DataFrame, types: Mapping[str, str]) -> bool:
    """Whether every column of `frame` can be sent as binary into a column of the SQL
    type `types` names for it (the table's, as it was created)."""
    import polars as pl

    for name, dtype in frame.schema.items():
        sql = types.get(name, "").upper()
        if sql == "TEXT":
            ok = dtype == pl.String
        elif sql in ("INTEGER", "BIGINT"):
            ok = dtype.is_integer() and _fits(frame[name], 31 if sql == "INTEGER" else 63)
        elif sql == "DOUBLE PRECISION":
            ok = dtype.is_float()
        elif sql == "DATE":
            ok = dtype == pl.Date
        elif sql == "TIMESTAMP WITH TIME ZONE":
            ok = isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
        elif sql == "BOOLEAN":
            ok = dtype == pl.Boolean
        else:
            ok = False
        if not ok:
            return False
    return True


def _fits(series: pl.Series, bits: int) -> bool:
    """Whether every integer of `series` is a signed integer of `bits` + 1 bits (numpy's
    conversion would wrap one that is not, where the server refuses it)."""
    import polars as pl

    narrow = {pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16}
    if series.dtype in narrow or (bits == 63 and series.dtype in (pl.Int64, pl.UInt32)):
        return True
    low, high = -(2**bits), 2**bits - 1
    least, most = series.min(), series.max()
    return least is None or (least >= low and most <= high)


def column_order(frame: pl.DataFrame, types: Mapping[str, str]) -> list[str]:
    """The order to list `frame`'s columns in the COPY: fixed-width columns without a
    NULL first (each row's run of them is laid out as one record), then the other
    fixed-width ones, then the texts."""
    names = list(frame.columns)

    def rank(name: str) -> int:
        if types[name].upper() not in _FIXED:
            return 2
        return 0 if frame[name].null_count() == 0 else 1

    return sorted(names, key=rank)


def parts(frame: pl.DataFrame, types: Mapping[str, str], rows: int) -> Iterator[memoryview]:
    """`frame`'s rows as binary COPY data (its columns in their order, each sent as
    `types` names it), the header first and the trailer last, `rows` rows a part."""
    yield memoryview(HEADER)
    for start in range(0, frame.height, rows):
        yield encode(frame.slice(start, rows), [types[name] for name in frame.columns]).data
    yield memoryview(TRAILER)


def encode(frame: pl.DataFrame, types: Sequence[str]) -> np.ndarray[Any, Any]:
    """The rows of `frame` as binary COPY rows (no header, no trailer), a numpy array of
    bytes: each column sent as the SQL type of `types` in its place.

    Each field becomes a list of bytes per row, and polars joins a row's lists into one
    (`concat_list`, in Rust: 4 ms for four columns of 100k rows) whose values are the
    rows' bytes in order; numpy lays out the fixed-width values and the lengths. A run
    of fixed-width columns without NULLs (with the row's field count before it) is one
    numpy record per row, and so is a run of them up to a text's length, its bytes
    following (an all-NULL text is its lengths alone)."""
    import polars as pl

    frame = frame.rechunk()  # numpy takes a column of one chunk as it is (of two: 9 ms a 165k)
    height = frame.height
    pieces: list[pl.Series] = []
    record: list[tuple[str, str]] = [("count", ">i2")]
    values: list[Any] = [frame.width]
    for index, sql in enumerate(types):
        series = frame.to_series(index)
        sql = sql.upper()
        name = f"f{len(record)}"
        if sql not in _FIXED:  # a text: its lengths join the record, its bytes follow it
            lengths = series.str.len_bytes().cast(pl.Int32).fill_null(-1).to_numpy()
            record.append((name, ">i4"))
            values.append(lengths)
            if series.null_count() < height:
                pieces.append(_records(record, values, height))
                record, values = [], []
                pieces.append(series.fill_null("").cast(pl.Binary).cast(pl.List(pl.UInt8)))
            continue
        width, wire = _FIXED[sql]
        if series.null_count() == 0:
            record += [(name, ">i4"), (f"v{name}", wire)]
            values += [width, _fixed(series, sql)]
            continue
        if record:
            pieces.append(_records(record, values, height))
            record, values = [], []
        pieces.append(_nullable(series, sql, width))
    if record:
        pieces.append(_records(record, values, height))
    rows = pl.DataFrame({f"p{i}": piece for i, piece in enumerate(pieces)})
    joined = rows.select(pl.concat_list(pl.all())).to_series()
    return joined.explode().to_numpy()


def _fixed(series: pl.Series, sql: str) -> np.ndarray[Any, Any]:
    """A fixed-width column's values as the wire holds them (its NULLs as 0)."""
    import polars as pl

    if sql == "DATE":
        physical = series.to_physical().cast(pl.Int32) - _EPOCH_DAYS
    elif sql == "TIMESTAMP WITH TIME ZONE":
        physical = series.dt.cast_time_unit("us").to_physical() - _EPOCH_MICROSECONDS
    elif sql == "BOOLEAN":
        physical = series.cast(pl.UInt8)
    else:
        physical = series
    return physical.fill_null(0).to_numpy().astype(_FIXED[sql][1])


def _records(fields: list[tuple[str, str]], values: list[Any], height: int) -> pl.Series:
    """One list of bytes per row: the record of `fields` holding `values` (one each, or
    an array of one per row)."""
    import numpy as np

    record = np.empty(height, dtype=np.dtype(fields))
    for (name, _), value in zip(fields, values, strict=True):
        record[name] = value
    return _lists(record.view(np.uint8).reshape(height, record.dtype.itemsize))


def _lists(matrix: np.ndarray[Any, Any]) -> pl.Series:
    """Each row of a 2-D array of bytes as a list."""
    import polars as pl

    return pl.Series(matrix).cast(pl.List(pl.UInt8))


def _nullable(series: pl.Series, sql: str, width: int) -> pl.Series:
    """A fixed-width column with NULLs: its length and value, or a NULL's length, -1,
    alone (each row's record cut to its length: a third of `when/then`'s time)."""
    import numpy as np
    import polars as pl

    valid = series.is_not_null().to_numpy()
    lengths = np.where(valid, width, -1)
    values = _fixed(series, sql)
    full = _records([("l", ">i4"), ("v", _FIXED[sql][1])], [lengths, values], series.len())
    kept = pl.Series(np.where(valid, 4 + width, 4))
    return pl.select(pl.lit(full).list.head(pl.lit(kept))).to_series()
