"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback.

The list is long: 257,575 clients of a 1M campaign, 2.58M of 10M. A table shows its first
clients and how many there are (`dropped` with a limit, `dropped_count`). The whole list
as CSV or JSON (`dropped_text`) is read as stored into a polars frame (on SQLite each
column of a range of the summary's rows as one text; on PostgreSQL as Arrow columns, by
ADBC's driver), sorted there, and written a column at a time, as UTF-8 bytes: no Python
object per client or per value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from itertools import repeat
from typing import Any, cast

from reactivate import access
from reactivate.clock import SPAN_YEARS, offset_spans, shown_column
from reactivate.db import reads
from reactivate.db.dialect import sorts_by_code_point
from reactivate.privacy import FORMULA_STARTS, masked_mobile_sql, masked_name_sql
from reactivate.report.model import DROPPED_KEYS, DroppedClient
from reactivate.report.scope import Scope
from reactivate.report.source import source

#: PostgreSQL's memory per sort or hash for the whole list (`dropped_text`)
LIST_WORK_MEM = "256MB"
#: lines of text written at a time (a few MB)
_BLOCK_ROWS = 20_000
#: summary rows (by rowid) whose listed clients SQLite hands over as one text: 65,536 of a
#: 1M campaign held about 16,000 listed clients, 1.1 MB; fewer statements cost little less
_SUMMARY_PART = 1 << 16


def dropped_count(scope: Scope, stage: str, total: Mapping[str, int]) -> int:
    """How many counted clients reached the stage before `stage` but not it: from the
    funnel's counts `total` (at the stage before less at it), or, for a caller who sees
    only some clients' rows, counted."""
    if scope.partial:
        found = scope.execute(f"SELECT count(*) FROM ({_chosen(scope, stage)}) s")
        return int(found.scalar() or 0)
    i = scope.campaign.stages.index(stage)
    return (total["assigned"] if i == 0 else total[f"n{i - 1}"]) - total[f"n{i}"]


def dropped(scope: Scope, stage: str, limit: int | None = None) -> tuple[DroppedClient, ...]:
    """The counted clients who reached the stage before `stage` (or it is the first) but
    neither it nor any later one, by advisor and client id: the first `limit`, or all."""
    from reactivate.sheets.clean import cyclic_gc_paused  # only this form needs it

    sql = _listed(scope, stage, limit)
    # a few hundred thousand rows, where a Python call per value or per row is what costs:
    # names and mobiles masked by the database, the rows fetched at once as the driver's
    # tuples, the times put in the campaign's zone a column at a time, each client a
    # tuple built in C, and the cyclic collector paused (each batch of new objects set it
    # walking every live one, finding no cycles)
    with cyclic_gc_paused():
        rows = scope.tuples(sql)
        if not rows:
            return ()
        *values, last_calls, callbacks = zip(*rows, strict=True)
        del rows
        tz = scope.campaign.tz
        clients = zip(
            *values, shown_column(last_calls, tz), shown_column(callbacks, tz), strict=True
        )
        return cast(
            tuple[DroppedClient, ...], tuple(map(tuple.__new__, repeat(DroppedClient), clients))
        )


def dropped_text(scope: Scope, stage: str, fmt: str, lead: str = "") -> Iterator[bytes]:
    """The whole list as UTF-8 text in blocks, in `dropped`'s order: as CSV (`fmt` "csv": each
    client a line ending CRLF that starts with `lead`, the cells before theirs, already
    CSV) or as JSON (each client an object as `json.dumps(indent=2)` writes it in the
    report, joined by ",\\n"), byte for byte what the report's writers make of `dropped`.
    The rows are read as stored, in frames (`_sqlite_frames`, `_postgres_frames`), and
    written by polars a column at a time (`_written`)."""
    frames = _sqlite_frames(scope, stage) if scope.sqlite else _postgres_frames(scope, stage)
    yield from _written(frames, fmt, lead, scope.campaign.tz)


def _listed(scope: Scope, stage: str, limit: int | None = None) -> str:
    """The listed clients by advisor and client id (the first `limit`, or all): their
    values in `DroppedClient`'s order, names and mobiles masked, times as stored."""
    sqlite, clients = scope.sqlite, access.client_source(scope.conn)
    name = f"coalesce({masked_name_sql('c.name', sqlite=sqlite)}, '') AS name"
    mobile = f"coalesce({masked_mobile_sql('c.mobile', sqlite=sqlite)}, '') AS mobile"
    values = (
        f"s.client_id, {name}, {mobile}, s.advisor_code, a.name AS advisor_name,"
        " s.last_call_at, s.callback_at"
    )
    advisor = "LEFT JOIN advisor a ON a.code = s.advisor_code"
    # byte by byte, as the whole list's CSV and JSON are ordered (`_order`), whatever the
    # database's collation: a table, a workbook and a file list the clients alike
    collate = "" if sorts_by_code_point(scope.conn) else ' COLLATE "C"'
    order = f"ORDER BY s.advisor_code{collate}, s.client_id{collate}"
    if limit is not None:  # the first few chosen from the summary alone, then joined
        join = "CROSS JOIN" if sqlite else "JOIN"  # SQLite: `s` the outer loop, in its order
        return (
            f"SELECT {values} FROM ({_chosen(scope, stage)} {order} LIMIT {limit}) s"
            f" {join} {clients} c ON c.client_id = s.client_id {advisor}"
            f"{'' if sqlite else f' {order}'}"
        )
    # the whole list: joined to the clients in the summary's order (a lookup in client id
    # order each: 0.4 s at 257,575 clients on SQLite, twice that in the list's order), then
    # sorted. On SQLite a subquery that reads this one as its rows come costs twice as much.
    return (
        f"SELECT {values} FROM ({source(scope)}) s"
        f" JOIN {clients} c ON c.client_id = s.client_id {advisor}"
        f" WHERE s.stages_reached = {scope.campaign.stages.index(stage)} {order}"
    )


def _chosen(scope: Scope, stage: str) -> str:
    """The listed clients' summary rows (as `s`'s columns): those who reached the stage
    before `stage` but not it, and whose client row the caller may read."""
    clients = access.client_source(scope.conn)
    # every summary row has its client (a foreign key), unless the caller sees only some
    visible = (
        "" if clients == "client" else f" AND s.client_id IN (SELECT client_id FROM {clients})"
    )
    return (
        f"SELECT s.client_id, s.advisor_code, s.last_call_at, s.callback_at"
        f" FROM ({source(scope)}) s"
        f" WHERE s.stages_reached = {scope.campaign.stages.index(stage)}{visible}"
    )


# --- the list read as stored, in frames ------------------------------------------------------

#: the columns of each frame of the listed clients: their values as stored, not yet masked
_STORED = (
    "client_id",
    "name",
    "mobile",
    "advisor_code",
    "advisor_name",
    "last_call_at",
    "callback_at",
)


def _sqlite_frames(scope: Scope, stage: str) -> Iterator[Any]:
    """SQLite: the listed clients as one polars frame of `_STORED` columns (times naive
    UTC, read from their text as stored, 2020-07-16 10:11:28.156347), in `dropped`'s
    order. The rows are read as they come, a range of the summary's rows at a time
    (`_SUMMARY_PART`), each column of a range's as one text (`_part_frame`), then sorted
    and given their advisor's name by polars (`_ordered`)."""
    import polars as pl

    clients = access.client_source(scope.conn)
    listed = (
        f" FROM ({source(scope, part=True)}) s JOIN {clients} c ON c.client_id = s.client_id"
        f" WHERE s.stages_reached = {scope.campaign.stages.index(stage)}"
    )
    values = (
        "s.client_id",
        "c.name",
        "c.mobile",
        "s.advisor_code",
        "s.last_call_at",
        "s.callback_at",
    )
    # each value's column joined by a control character (as bytes: no Python text to
    # decode), NULL as '': at 257,575 clients 0.39 s CPU, against 0.45 s for a `printf`
    # of each row's values joined and 0.7 s for the rows as Python objects
    joined = (f"CAST(group_concat(ifnull({value}, ''), '{_RECORD}') AS BLOB)" for value in values)
    texts = f"SELECT count(*), {', '.join(joined)}{listed}"
    rows = f"SELECT {', '.join(values)}{listed}"
    schema = dict.fromkeys((name for name in _STORED if name != "advisor_name"), pl.String)
    params = scope.params_of(listed)
    last = scope.execute("SELECT max(rowid) FROM client_stage").scalar() or 0
    frames = [pl.DataFrame(schema=schema)]
    for first in range(0, last + 1, _SUMMARY_PART):
        part = {**params, "part_from": first, "part_to": first + _SUMMARY_PART}
        count, *columns = reads.execute(scope.conn, texts, part).one()
        if not count:
            continue
        read = _part_frame(columns, count, list(schema))
        if read is None:  # a value holds the separator: this part read row by row
            found = reads.tuples(scope.conn, rows, part)
            read = pl.DataFrame(found, schema=schema, orient="row")
        frames.append(read)
    # the times as moments: the seconds parsed from their first 19 characters (a format
    # with the fraction cost three times as much), the fraction added as microseconds
    moments = (
        pl.col(name).str.slice(0, 19).str.to_datetime(_SECONDS, strict=False, cache=False)
        + pl.duration(microseconds=pl.col(name).str.slice(20).str.pad_end(6, "0").cast(pl.Int64))
        for name in _STORED[5:]
    )
    ordered = _ordered(scope, pl.concat(frames).with_columns(moments))
    del frames  # not held beside their ordered copy while the list is written
    yield ordered


#: how SQLite stores a time, to the second (a fraction of six digits follows)
_SECONDS = "%Y-%m-%d %H:%M:%S"


#: what separates the values of a column in the text SQLite hands over
_RECORD = "\x1e"


def _part_frame(columns: list[bytes | None], rows: int, names: list[str]) -> Any | None:
    """A part of the list as SQLite joined it (each column's `rows` values, '' for NULL)
    as a polars frame of text columns `names`, a time '' read as NULL; or None when a
    value holds the separator. The columns' values come in one order: one statement's
    aggregates, over the same rows."""
    import polars as pl

    if any(column is None or column.count(_RECORD.encode()) != rows - 1 for column in columns):
        return None
    frame = pl.DataFrame(
        [
            pl.Series(name, [column]).cast(pl.String).str.split(_RECORD).explode()
            for name, column in zip(names, columns, strict=True)
        ]
    )
    return frame.with_columns(
        pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in _STORED[5:]
    )


def _postgres_frames(scope: Scope, stage: str) -> Iterator[Any]:
    """PostgreSQL: the listed clients as one polars frame of `_STORED` columns (times naive
    UTC), in `dropped`'s order. Read by ADBC's PostgreSQL driver on a connection of its own
    (`_snapshot_reader`), which parses COPY's binary rows into Arrow columns in C: psycopg's
    COPY hands over one Python message per row (about 3 s of CPU at 2.58M rows), and its
    text rows then had to be parsed again, their times formatted by the server and parsed
    back. Unsorted: the server's sort of 2.58M joined rows cost more than polars' (below)."""
    import polars as pl
    from psycopg import sql as pgsql

    clients = access.client_source(scope.conn)
    sql = (
        "SELECT s.client_id, c.name, c.mobile, s.advisor_code, s.last_call_at, s.callback_at"
        f" FROM ({source(scope)}) s JOIN {clients} c ON c.client_id = s.client_id"
        f" WHERE s.stages_reached = {scope.campaign.stages.index(stage)}"
    )
    raw = cast(Any, scope.conn).connection.driver_connection
    params = scope.params_of(sql)  # bound here, as literals: the driver's COPY takes none
    if params:
        sql = re.sub(
            "(?<![:\\w]):(" + "|".join(params) + ")\\b",
            lambda found: pgsql.Literal(params[found.group(1)]).as_string(raw),
            sql,
        )
    # each listed client's row looked up through the client key, in parallel workers: at
    # 2.58M of 10.5M clients 5.0 s (7.8 s of server CPU), where the planner's serial hash
    # join of every client row took 10.5-11.8 s (10.3-11.4 s) and a parallel one 5.9-6.1 s
    # (9.3-9.7 s). Joins are left to the planner in a window's list (the events it reads).
    plan = {"parallel_tuple_cost": "0"}
    if not scope.windowed:
        plan |= {"enable_hashjoin": "off", "enable_mergejoin": "off"}
    with _snapshot_reader(scope, plan) as cursor:
        frame = _read(cursor, sql)
    names = [name for name in _STORED if name != "advisor_name"]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True))).with_columns(
        pl.col(names[:4]).cast(pl.String),
        pl.col(names[4:]).cast(pl.Datetime("us", "UTC")).dt.replace_time_zone(None),
    )
    ordered = _ordered(scope, frame)
    del frame  # not held beside its ordered copy while the list is written
    yield ordered


def _read(cursor: Any, sql: str) -> Any:
    """The rows of `sql` as a polars frame, read by the ADBC `cursor` on a thread of its
    own: on the main thread ADBC takes SIGINT for itself during its calls and cancels the
    statement, whose error then reads as any other (the interrupt lost); here an interrupt
    reaches the waiting main thread as the command's, the statement is cancelled, and the
    thread is waited for (through any further interrupt) before the connection closes."""
    import polars as pl

    read: dict[str, Any] = {}
    stopped, done = threading.Event(), threading.Event()

    def work() -> None:
        try:
            if not stopped.is_set():
                cursor.execute(sql)
                read["frame"] = pl.DataFrame(cursor.fetch_arrow())
        except BaseException as exc:  # raised on the main thread, below
            read["error"] = exc
        finally:
            done.set()

    # waited for on an event, not `Thread.join`: a join that an interrupt ends may mark
    # the thread as ended while it still runs (Python 3.11), and the connection would then
    # close under it
    try:
        threading.Thread(target=work, name="dropped-list").start()
        while not done.wait(0.2):  # woken at once by a signal, or within the timeout
            pass
    except BaseException:
        stopped.set()
        with contextlib.suppress(Exception):
            cursor.adbc_cancel()
        while not done.is_set():
            with contextlib.suppress(BaseException):  # the first interrupt is raised
                done.wait()
        raise
    if "error" in read:
        raise read["error"]
    return read["frame"]


@contextlib.contextmanager
def _snapshot_reader(scope: Scope, plan: Mapping[str, str]) -> Iterator[Any]:
    """An ADBC cursor on a PostgreSQL connection of its own that sees what the report's
    connection sees: the same login and connection options, a read-only transaction on the
    report's snapshot (`pg_export_snapshot`, as pg_dump's parallel workers share one), the
    report's settings for big reads (`dialect.tune_big_reads`), the list's memory and the
    planner's settings `plan`."""
    import adbc_driver_postgresql.dbapi as adbc

    url = cast(Any, scope.conn).engine.url.set(drivername="postgresql")
    snapshot = scope.execute("SELECT pg_export_snapshot()").scalar()
    with (
        adbc.connect(url.render_as_string(hide_password=False), autocommit=True) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        for name, value in {"jit": "off", "work_mem": LIST_WORK_MEM, **plan}.items():
            cursor.execute(f"SET LOCAL {name} = '{value}'")
        yield cursor
        cursor.execute("ROLLBACK")


def _ordered(scope: Scope, frame: Any) -> Any:
    """The listed clients of `frame` (`_STORED` but the advisor's name) in `dropped`'s
    order, each given their advisor's name, as `_STORED`: the order worked out by polars
    (`_order`), then the rows gathered in it once (at 2.58M clients, against 1.5 s for
    two stable sorts of the rows or 1.0 s for one by both codes as text; SQLite's sort of
    the joined rows cost 0.45 s CPU at 257,575 clients, its lookup of each row's advisor
    0.3 s)."""
    import polars as pl

    advisors = dict(scope.tuples("SELECT code, name FROM advisor"))
    return (
        frame[_order(frame)]
        .with_columns(
            pl.col("advisor_code").replace_strict(advisors, default=None).alias("advisor_name")
        )
        .select(_STORED)
    )


def _order(frame: Any) -> Any:
    """The positions of `frame`'s rows by advisor code then client id (as text, byte by
    byte): each code as its rank among the codes (an enum), and where every client id is
    digits of one length (a number then sorts as its text does) both as one integer, whose
    sort took 0.3 s at 2.58M clients against 0.7 s for the rank and the id as text."""
    import polars as pl

    codes = pl.Enum(frame.get_column("advisor_code").unique().sort())
    rank, ids = (
        pl.col("advisor_code").cast(codes).to_physical().cast(pl.UInt64),
        pl.col("client_id"),
    )
    found = frame.select(
        ids.str.len_bytes().min().alias("shortest"),
        ids.str.len_bytes().max().alias("longest"),
        ids.str.contains("^[0-9]+$").all().alias("digits"),
    ).row(0, named=True)
    width = found["longest"] or 0
    if found["digits"] and found["shortest"] == width and len(codes.categories) * 10**width < 2**63:
        key = rank * 10**width + ids.cast(pl.UInt64)
        return frame.select(key.arg_sort()).to_series()
    return frame.select(pl.arg_sort_by(rank, ids)).to_series()


# --- the frames as text, written by polars ---------------------------------------------------


def _written(frames: Iterable[Any], fmt: str, lead: str, tz: Any) -> Iterator[bytes]:
    """The rows of `frames` (`_STORED` columns, in order) as `dropped_text` writes them, in
    UTF-8, in blocks of at most `_BLOCK_ROWS` lines: each value worked out a column at a
    time, the lines written by polars' CSV writer as they are (no Python text: made of
    polars' then encoded again, 70 MB of JSON at 257,575 clients cost 0.15 s)."""
    import polars as pl

    from reactivate.privacy import masked_mobile_column, masked_name_column

    csv = fmt == "csv"
    end = "\r\n" if csv else ",\n"  # JSON: between objects, cut after the last
    before = b""
    for frame in frames:
        # the values first, each cell's tests then read them (eager polars works an
        # expression out again wherever it is named)
        times = _shown_columns(frame, _STORED[5:], tz, "" if csv else '"')
        shown = frame.with_columns(
            masked_name_column(pl.col("name")).fill_null(""),
            masked_mobile_column(pl.col("mobile")).fill_null(""),
            *(times if csv else (time.fill_null("null") for time in times)),
        )
        cells = _csv_cells(shown, lead) if csv else _json_objects(shown)
        columns = [cell.alias(str(i)) for i, cell in enumerate(cells)]
        # a block's lines at once: the whole list's lines are never all held
        for start in range(0, shown.height, _BLOCK_ROWS):
            block = io.BytesIO()
            shown.slice(start, _BLOCK_ROWS).select(columns).write_csv(
                block, include_header=False, quote_style="never", null_value="", line_terminator=end
            )
            if csv:
                yield block.getvalue()
                continue
            yield before + block.getbuffer()[: -len(end)]
            before = end.encode()


def _plain(frame: Any, pattern: str) -> list[bool]:
    """For each text column of `frame` (`_STORED`'s first five), whether none of its values
    matches `pattern`: such a column is written as it is (a test per column where a test
    per value, and its branches, cost several times as much; a listed client's id, masked
    name and mobile and advisor's code nearly never need quoting or escaping)."""
    import polars as pl

    return [
        not found for found in frame.select(pl.col(_STORED[:5]).str.contains(pattern).any()).row(0)
    ]


def _csv_cells(shown: Any, lead: str) -> list[Any]:
    """The CSV cells of each line of `shown`: the values (`_csv_cell_column`), NULL as
    nothing, the first behind `lead`; the times as they are."""
    import polars as pl

    plain = _plain(shown, _CSV_SPECIAL)
    cells = [
        pl.col(name) if ok else _csv_cell_column(pl.col(name))
        for name, ok in zip(_STORED[:5], plain, strict=True)
    ]
    cells[0] = pl.concat_str([pl.lit(lead), cells[0].fill_null("")])
    return cells + [pl.col(name) for name in _STORED[5:]]


def _json_objects(shown: Any) -> list[Any]:
    """Each line of `shown` (its times already JSON, `_shown_columns`) as one JSON object:
    one concatenation of its values and the text between them, a value that is never
    NULL with its quotes in that text (a concatenation inside another, or a NULL filled
    inside it, cost twice or three times the whole)."""
    import polars as pl

    plain = _plain(shown, _JSON_SPECIAL)
    nulls = shown.null_count().row(0, named=True)
    parts: list[Any] = []
    for i, (key, name) in enumerate(zip(DROPPED_KEYS, _STORED, strict=True)):
        parts.append(("      {\n" if i == 0 else ",\n") + f'        "{key}": ')
        if name in _STORED[5:]:
            parts.append(pl.col(name))
        elif nulls[name]:
            parts.append(_json_column(pl.col(name), escaped=not plain[i]))
        else:
            value = pl.col(name) if plain[i] else _escaped(pl.col(name))
            parts += ['"', value, '"']
    parts.append("\n      }")
    # the texts between values, each one literal
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return [pl.concat_str([pl.lit(part) if isinstance(part, str) else part for part in merged])]


#: a text a CSV cell must mark or quote (`_csv_cell_column`)
_CSV_SPECIAL = f'^[{re.escape("".join(FORMULA_STARTS))}]|[,"\r\n]'


def _csv_cell_column(value: Any) -> Any:
    """`value` (a polars text column) as CSV cells, as `privacy.csv_cell` then Python's csv
    writer (minimal quoting) write them: text that could start a formula behind a `'`;
    quoted, its quotes doubled, if it holds a comma, a quote, CR or LF; NULL stays NULL."""
    import polars as pl

    starts = re.escape("".join(FORMULA_STARTS))
    formula = value.str.contains(f"^[{starts}]")
    marked = pl.when(formula).then(pl.concat_str([pl.lit("'"), value])).otherwise(value)
    quoted = pl.concat_str(
        [pl.lit('"'), marked.str.replace_all('"', '""', literal=True), pl.lit('"')]
    )
    return pl.when(value.str.contains('[,"\r\n]')).then(quoted).otherwise(marked)


#: what `json.dumps` escapes in a string, and how
_JSON_ESCAPES = {
    **{chr(code): f"\\u{code:04x}" for code in range(32)},
    **{"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"},
}


def _json_column(value: Any, escaped: bool = True) -> Any:
    """`value` (a polars text column) as `json.dumps(ensure_ascii=False)` writes each
    (`escaped`: its characters escaped as it does, unless none of them needs it)."""
    import polars as pl

    quoted = pl.concat_str([pl.lit('"'), _escaped(value) if escaped else value, pl.lit('"')])
    return quoted.fill_null("null")


def _escaped(value: Any) -> Any:
    """`value` (a polars text column) with its characters escaped as `json.dumps` does."""
    return value.str.replace_many(list(_JSON_ESCAPES), list(_JSON_ESCAPES.values()))


#: a text holding a character `json.dumps` escapes
_JSON_SPECIAL = '[\\x00-\\x1f"\\\\]'


def _shown_columns(frame: Any, names: tuple[str, ...], tz: Any, quote: str = "") -> list[Any]:
    """Stored times (columns `names` of `frame`: naive UTC moments) as `isoformat()` writes
    them on `tz`'s clock (2020-07-16T18:11:28.156347+08:00; no fraction when it is 0),
    between `quote`s, or NULL: polars expressions over `frame`. The offset is the zone's
    at that time, from the table of its changes (`clock.offset_spans`) over the years the
    times span."""
    import polars as pl

    found = frame.select(
        pl.min_horizontal([pl.col(name).min() for name in names]).alias("first"),
        pl.max_horizontal([pl.col(name).max() for name in names]).alias("last"),
        *((pl.col(name).dt.microsecond() == 0).any().alias(name) for name in names),
        *((pl.col(name).dt.microsecond() != 0).any().alias(f"{name}.") for name in names),
    ).row(0, named=True)
    first, last = found["first"], found["last"]
    spans = offset_spans(tz, (first.year, last.year + 1) if first is not None else SPAN_YEARS)
    seconds = [int(offset.total_seconds()) for _start, offset in spans]
    offsets = [_offset_text(offset) for _start, offset in spans]
    starts = pl.Series([start for start, _offset in spans[1:]], dtype=pl.Datetime("us"))
    shown = []
    for name in names:
        moment = pl.col(name)
        # the fraction written by the format, cut after where it is 0, unless it is 0 in
        # every time of the column or in none
        whole, fraction = found[name], found[f"{name}."]
        clock = quote + "%Y-%m-%dT%H:%M:%S" + (".%6f" if fraction else "")
        if len(spans) == 1:  # the offset and quote written by the format too: a step less
            after = offsets[0] + quote
            text = (moment + pl.duration(seconds=seconds[0])).dt.strftime(clock + after)
            if whole and fraction:
                text = text.str.replace(f".000000{after}", after, literal=True)
        else:
            span = pl.lit(starts).search_sorted(moment, side="right")
            offset = pl.lit(pl.Series(seconds)).gather(span)
            text = (moment + pl.duration(seconds=offset)).dt.strftime(clock)
            if whole and fraction:
                text = text.str.strip_suffix(".000000")
            written = pl.lit(pl.Series([offset + quote for offset in offsets])).gather(span)
            text = pl.concat_str([text, written])
        shown.append(text.alias(name))
    return shown


def _offset_text(offset: dt.timedelta) -> str:
    """An offset as `isoformat()` ends a time with it: +08:00, +08:05:43."""
    return dt.datetime(2000, 1, 1, tzinfo=dt.timezone(offset)).isoformat()[19:]
