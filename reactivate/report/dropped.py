"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback.

The list is long: 257,575 clients of a 1M campaign, 2.58M of 10M. A table shows its first
clients and how many there are (`dropped` with a limit, `dropped_count`). The whole list
as CSV or JSON (`dropped_text`) is read as stored into polars frames (on SQLite each
column of a range of the summary's rows as one text; on PostgreSQL through `COPY ... TO
STDOUT`, a frame at a time) and written a column at a time, as UTF-8 bytes: no Python
object per client or per value.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import repeat
from typing import Any, cast

from reactivate import access
from reactivate.clock import SPAN_YEARS, offset_spans, shown_column
from reactivate.db import reads
from reactivate.db.dialect import settings
from reactivate.privacy import FORMULA_STARTS, masked_mobile_sql, masked_name_sql
from reactivate.report.model import DROPPED_KEYS, DroppedClient
from reactivate.report.scope import Scope
from reactivate.report.source import source

#: PostgreSQL's memory per sort or hash for the whole list (`dropped_text`)
LIST_WORK_MEM = "256MB"
#: bytes of COPY's rows read into a frame at a time (each polars step costs something of its
#: own per frame: fewer, larger frames)
_COPY_BLOCK = 4 << 20
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
    The rows are read as stored, in frames (`_sqlite_frames`, `_copied_frames`), and
    written by polars a column at a time (`_written`)."""
    frames = _sqlite_frames(scope, stage) if scope.sqlite else _copied_frames(scope, stage)
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
    order = "ORDER BY s.advisor_code, s.client_id"
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
    """SQLite: the listed clients as one polars frame of `_STORED` text columns (times as
    stored: naive UTC, 2020-07-16 10:11:28.156347), in `dropped`'s order. The rows are
    read as they come, a range of the summary's rows at a time (`_SUMMARY_PART`), each
    column of a range's as one text (`_part_frame`), then sorted and given their advisor's name by
    polars: SQLite's sort of the joined rows cost 0.45 s CPU at 257,575 clients, its
    lookup of each row's advisor 0.3 s, polars' 0.05 s (client id first, then advisor
    code)."""
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
    frame = pl.concat(frames)
    advisors = dict(scope.tuples("SELECT code, name FROM advisor"))
    codes = frame.get_column("advisor_code").unique().sort()
    yield (
        frame.sort("client_id")
        .sort(pl.col("advisor_code").cast(pl.Enum(codes)), maintain_order=True)
        .with_columns(
            pl.col("advisor_code").replace_strict(advisors, default=None).alias("advisor_name")
        )
        .select(_STORED)
    )


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


#: what COPY's text format writes for a backslash and the control characters it escapes
_COPY_ESCAPES = {
    "\\\\": "\\",
    "\\b": "\b",
    "\\f": "\f",
    "\\n": "\n",
    "\\r": "\r",
    "\\t": "\t",
    "\\v": "\v",
}


def _copied_frames(scope: Scope, stage: str) -> Iterator[Any]:
    """PostgreSQL: the listed clients, sorted by the server, as polars frames of `_STORED`
    text columns (times in UTC as PostgreSQL writes them, 2020-07-16 10:11:28.156347+00,
    without the +00),
    each from about `_COPY_BLOCK` bytes of `COPY ... TO STDOUT`'s whole rows. COPY's text
    format escapes a backslash, a tab, a newline and the other control characters it
    names (never an octal or hex escape), undone here a column at a time; NULL is `\\N`."""
    import polars as pl
    from psycopg import sql as pgsql

    clients = access.client_source(scope.conn)
    sql = (
        f"SELECT s.client_id, c.name, c.mobile, s.advisor_code, a.name, s.last_call_at,"
        f" s.callback_at FROM ({source(scope)}) s JOIN {clients} c ON c.client_id = s.client_id"
        " LEFT JOIN advisor a ON a.code = s.advisor_code"
        f" WHERE s.stages_reached = {scope.campaign.stages.index(stage)}"
        " ORDER BY s.advisor_code, s.client_id"
    )
    conn = cast(Any, scope.conn)
    raw = conn.connection.driver_connection
    params = scope.params_of(sql)  # bound here: COPY takes no parameters
    if params:
        sql = re.sub(
            "(?<![:\\w]):(" + "|".join(params) + ")\\b",
            lambda found: pgsql.Literal(params[found.group(1)]).as_string(raw),
            sql,
        )
    schema = dict.fromkeys(_STORED, pl.String)

    def frame(rows: bytes) -> Any:
        read = pl.read_csv(
            rows,
            has_header=False,
            separator="\t",
            quote_char=None,
            null_values="\\N",
            empty_string_is_null=False,
            schema=schema,
        ).with_columns(pl.col(_STORED[5:]).str.strip_suffix("+00"))  # naive, as SQLite's
        if b"\\" not in rows:  # nearly always: nothing escaped
            return read
        escapes, plain = list(_COPY_ESCAPES), list(_COPY_ESCAPES.values())
        return read.with_columns(pl.col(_STORED[:5]).str.replace_many(escapes, plain))

    # the list's sort in memory: 2.58M clients of 10M, about 400 MB over the parallel
    # workers, sorted on disk at the report's 64 MB (6 s); times in UTC, as ISO writes them
    setting = {"work_mem": LIST_WORK_MEM, "TimeZone": "UTC", "DateStyle": "ISO"}
    # COPY hands over a row at a time: gathered into blocks of about a megabyte, each cut
    # after its last whole row (a Python step per row cost 6.6 s of CPU at 2.58M rows)
    parts: list[bytes] = []
    size = 0
    with (
        settings(conn, setting),
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT") as copy,
    ):
        for data in copy:
            parts.append(bytes(data))
            size += len(data)
            if size < _COPY_BLOCK:
                continue
            pending = b"".join(parts)
            end = pending.rfind(b"\n") + 1
            parts, size = [pending[end:]], len(pending) - end
            if end:
                yield frame(pending[:end])
    rest = b"".join(parts)
    if rest and not rest.endswith(b"\n"):
        raise ValueError("COPY ended inside a row")
    if rest:
        yield frame(rest)


# --- the frames as text, written by polars ---------------------------------------------------


def _written(frames: Iterable[Any], fmt: str, lead: str, tz: Any) -> Iterator[bytes]:
    """The rows of `frames` (`_STORED` columns, in order) as `dropped_text` writes them, in
    UTF-8, in blocks of at most `_BLOCK_ROWS` lines: each value worked out a column at a
    time, the lines written by polars' CSV writer as they are (no Python text: made of
    polars' then encoded again, 70 MB of JSON at 257,575 clients cost 0.15 s)."""
    import polars as pl

    from reactivate.privacy import masked_mobile_column, masked_name_column

    csv = fmt == "csv"
    values = [pl.col(name) for name in _STORED[:5]]
    times = [pl.col(name) for name in _STORED[5:]]
    if csv:  # the cells, NULL as nothing, between commas
        cells = [_csv_cell_column(value) for value in values] + times
        cells[0] = pl.concat_str([pl.lit(lead), cells[0].fill_null("")])
        end = "\r\n"
    else:
        # each object one concatenation of its values and the text between them (a
        # concatenation inside another writes every client's text twice)
        json_cells = [_json_column(value) for value in values]
        json_cells += [
            pl.concat_str([pl.lit('"'), time, pl.lit('"')]).fill_null("null") for time in times
        ]
        texts = [f'        "{key}": ' for key in DROPPED_KEYS]
        texts = ["      {\n" + texts[0], *(",\n" + text for text in texts[1:])]
        parts = [
            part
            for text, cell in zip(texts, json_cells, strict=True)
            for part in (pl.lit(text), cell)
        ]
        cells = [pl.concat_str([*parts, pl.lit("\n      }")])]
        end = ",\n"  # between objects: cut after the last
    columns = [cell.alias(str(i)) for i, cell in enumerate(cells)]
    before = b""
    for frame in frames:
        # the values first, each cell's tests then read them (eager polars works an
        # expression out again wherever it is named)
        shown = frame.with_columns(
            masked_name_column(pl.col("name")).fill_null(""),
            masked_mobile_column(pl.col("mobile")).fill_null(""),
            *_shown_columns(frame, _STORED[5:], tz),
        )
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


def _json_column(value: Any) -> Any:
    """`value` (a polars text column) as `json.dumps(ensure_ascii=False)` writes each."""
    import polars as pl

    escaped = value.str.replace_many(list(_JSON_ESCAPES), list(_JSON_ESCAPES.values()))
    return pl.concat_str([pl.lit('"'), escaped, pl.lit('"')]).fill_null("null")


def _shown_columns(frame: Any, names: tuple[str, ...], tz: Any) -> list[Any]:
    """Stored times (columns `names` of `frame`: naive UTC text, 2020-07-16
    10:11:28.156347, with as many digits of fraction as there are, or none) as
    `isoformat()` writes them on `tz`'s clock (2020-07-16T18:11:28.156347+08:00; no
    fraction when it is 0), or NULL: polars
    expressions over `frame`. The offset is the zone's at that time, from the table of
    its changes (`clock.offset_spans`) over the years the times span."""
    import polars as pl

    moments = [
        pl.col(name)
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, cache=False)
        for name in names
    ]
    # the years the times span, from their text (ISO text sorts as the times do): parsed
    # here as well, the moments cost as much again
    bounds = frame.select(
        pl.min_horizontal([pl.col(name).min() for name in names]).alias("first"),
        pl.max_horizontal([pl.col(name).max() for name in names]).alias("last"),
    ).row(0)
    years = (int(bounds[0][:4]), int(bounds[1][:4]) + 1) if bounds[0] is not None else SPAN_YEARS
    spans = offset_spans(tz, years)
    seconds = [int(offset.total_seconds()) for _start, offset in spans]
    offsets = [_offset_text(offset) for _start, offset in spans]
    starts = pl.Series([start for start, _offset in spans[1:]], dtype=pl.Datetime("us"))
    shown = []
    for name, moment in zip(names, moments, strict=True):
        stored = pl.col(name)
        if len(spans) == 1:
            offset, text = pl.lit(seconds[0]), pl.lit(offsets[0])
        else:
            span = pl.lit(starts).search_sorted(moment, side="right")
            offset, text = (
                pl.lit(pl.Series(seconds)).gather(span),
                pl.lit(pl.Series(offsets)).gather(span),
            )
        clock = (moment + pl.duration(seconds=offset)).dt.strftime("%Y-%m-%dT%H:%M:%S")
        # SQLite stores six digits; PostgreSQL writes as few as there are, or none (a
        # slice, where a regular expression cost four times the whole parse)
        digits = stored.str.slice(20).str.pad_end(6, "0")
        fraction = (
            pl.when(digits != "000000")
            .then(pl.concat_str([pl.lit("."), digits]))
            .otherwise(pl.lit(""))
        )
        shown.append(pl.concat_str([clock, fraction, text]).alias(name))
    return shown


def _offset_text(offset: dt.timedelta) -> str:
    """An offset as `isoformat()` ends a time with it: +08:00, +08:05:43."""
    return dt.datetime(2000, 1, 1, tzinfo=dt.timezone(offset)).isoformat()[19:]
