"""An upload's rows checked a column at a time, for uploads of a million rows.

The row checker (`rows.RowChecker`) checks a row at a time: that is where every rule and
its message live. Here the same rules are polars expressions over every row of an upload at
once, and they only ever accept. A row they accept is one the row checker accepts, with
the same facts (tests hold the two to each other); every other row goes to the row
checker, which says why it is rejected, or accepts it after all where these expressions
are only cautious (a wall-clock time a clock change skips, say).

The frame they read (`accept`): the cleaned fields of each row (`FIELD_TYPES`), the file's
place in the upload (`FILE`) and the row's number (`ROW`), the stamp's advisor for an
issued workbook (`STAMP_ADVISOR`), and the database's facts about the client
(`MEMBER_COLUMNS`, joined by client id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from reactivate.rules import funnel

if TYPE_CHECKING:
    import polars as pl

FILE = "file_index"
ROW = "source_row"
STAMP_ADVISOR = "stamp_advisor"
#: The database's facts about a client, as `members.load_members` reads them.
MEMBER_COLUMNS = (
    "client_id",
    "known",
    "member",
    "member_advisor",
    "assigned_at",
    "control",
    "dnc",
    "risk",
    "dnc_call_at",
    "attempts_so_far",
)
#: source_ref of an event whose time is its first upload (the sheet gave none).
UNTIMED = "untimed"
#: The columns of a staged fact, in `model.StagedFact` order.
FACT_COLUMNS = (
    "client_id",
    "stage",
    "value",
    "occurred_at",
    "match_time",
    "advisor_code",
    FILE,
    ROW,
    "source_ref",
)
#: Whether a row is accepted, in the frame `accept` returns.
OK = "ok"
#: The advisor a row's facts are from, in that frame.
ADVISOR = "advisor_code"
#: Whether that advisor is not the client's own, in that frame.
FOREIGN = "foreign"

#: The times a fact is timed by; the call-back time is a value, checked apart.
FACT_TIMES = ("called_at", "wecom_added_at", "pushed_at", "converted_at")
#: Every time a row gives (wall-clock times in the campaign's zone): `to_utc` converts them.
TIME_FIELDS = (*FACT_TIMES, "callback_at")


def field_types() -> dict[str, Any]:
    """The cleaned fields of a results row (`sheets.fields.RESULT_FIELDS`) as polars types."""
    import polars as pl

    moment = pl.Datetime("us")
    return {
        "client_id": pl.String,
        "advisor": pl.String,
        "called_at": moment,
        "call_result": pl.String,
        "attempts": pl.Int64,
        "callback_at": moment,
        "wecom_added": pl.Boolean,
        "wecom_added_at": moment,
        "product": pl.String,
        "pushed_at": moment,
        "converted": pl.Boolean,
        "converted_at": moment,
        "note": pl.String,
    }


def member_types() -> dict[str, Any]:
    import polars as pl

    moment = pl.Datetime("us", "UTC")
    return {
        "client_id": pl.String,
        "known": pl.Boolean,
        "member": pl.Boolean,
        "member_advisor": pl.String,
        "assigned_at": moment,
        "control": pl.Boolean,
        "dnc": pl.Boolean,
        "risk": pl.Int64,
        "dnc_call_at": moment,
        "attempts_so_far": pl.Int64,
    }


#: polars' engine for these queries. From polars 2 the default is the streaming engine,
#: whose set-up costs about 10 ms per query on a 5,000-row sheet (`accept`: 16 ms against
#: 7); on 1,000,000 rows the in-memory engine was no slower (the upload took 48 s
#: against 52 s).
_ENGINE: Final = "in-memory"


@dataclass(frozen=True)
class Rules:
    """What the checks need to know of the campaign and of this upload."""

    tz: ZoneInfo
    start: dt.date
    end: dt.date
    now: dt.datetime  # aware UTC
    dispositions: Collection[str]
    products: Mapping[str, tuple[str, int] | None]  # as the sheets name them -> (code, risk)
    advisor_codes: Collection[str]
    advisor_by_name: Mapping[str, str]
    default_advisor: str | None  # --advisor, for plain sheets without an advisor column
    allow_foreign: bool
    sqlite: bool  # SQLite stages times as UTC text; PostgreSQL as timestamps


def accept(rows: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """`rows` with `OK` (the row is accepted), `ADVISOR`, `FOREIGN`, and each given time
    as UTC (`<time>_utc`)."""
    import polars as pl

    col, lit = pl.col, pl.lit
    now = lit(rules.now).dt.cast_time_unit("us")
    # one lazy query: polars' cost per operation counts in an upload of a few rows
    lazy = rows.lazy().with_columns(*to_utc(rows, rules.tz), _advisor(rules).alias(ADVISOR))
    lazy = lazy.with_columns(col(ADVISOR).ne_missing(col("member_advisor")).alias(FOREIGN))
    products = _products(rules)
    checks = [
        col("known").fill_null(False),
        col("member").fill_null(False),
        ~col("control").fill_null(True),
        col(ADVISOR).is_not_null(),
        col("callback_at").is_null() | col("callback_at_utc").is_not_null(),
    ]
    if not rules.allow_foreign:
        checks.append(~col(FOREIGN))
    for name in FACT_TIMES:
        utc = col(f"{name}_utc")
        checks.append(
            col(name).is_null()
            | (
                utc.is_not_null()
                & (utc <= now)
                & col(name).dt.date().is_between(rules.start, rules.end)
                & (col("assigned_at").is_null() | (utc >= col("assigned_at")))
            )
        )
    result = col("call_result")
    when_called = pl.coalesce(col("called_at_utc"), now)
    checks.append(
        ~_calling()
        | (result.fill_null("") == funnel.DO_NOT_CALL)
        | (
            ~col("dnc").fill_null(True)
            & (col("dnc_call_at").is_null() | (when_called <= col("dnc_call_at")))
        )
    )
    checks.append(result.is_null() | result.is_in(list(rules.dispositions)))
    checks.append(
        pl.when(col("product").is_not_null())
        .then(
            products.code.is_not_null()
            & col("risk").is_not_null()
            & (products.risk <= col("risk")).fill_null(False)
        )
        .otherwise(col("pushed_at").is_null())
    )
    checks.append(col("wecom_added_at").is_null() | col("wecom_added").fill_null(False))
    checks.append(col("converted_at").is_null() | col("converted").fill_null(False))
    return lazy.with_columns(
        pl.all_horizontal(checks).alias(OK),
        products.code.alias("product_code"),
    ).collect(engine=_ENGINE)


def accepted(checked: pl.DataFrame) -> pl.DataFrame:
    """The rows `accept` accepted, with only the columns `facts` and `dnc_times` read (so
    a million rows are not copied whole)."""
    import polars as pl

    times = [name for base in TIME_FIELDS for name in (base, f"{base}_utc")]
    wanted = [FILE, ROW, "client_id", ADVISOR, FOREIGN, "call_result", "attempts", *times]
    wanted.append("attempts_so_far")
    wanted += ["wecom_added", "product_code", "converted", "note"]
    return checked.lazy().filter(pl.col(OK)).select(wanted).collect(engine=_ENGINE)


def facts(accepted: pl.DataFrame, rules: Rules, now_stored: Any) -> pl.DataFrame:
    """The facts the accepted rows state, as staged (`FACT_COLUMNS`), in the row checker's
    order: by file, row, then call, attempts, call-back, WeCom, push, conversion, note."""
    import polars as pl

    col, lit = pl.col, pl.lit
    lazy = accepted.lazy()
    parts = [
        lazy.filter(stated).select(
            col("client_id"),
            lit(kind).alias("stage"),
            value.cast(pl.String).alias("value"),
            timing[0].alias("occurred_at"),
            timing[1].alias("match_time"),
            col(ADVISOR),
            col(FILE),
            col(ROW),
            timing[2].alias("source_ref"),
            lit(rank, pl.Int8).alias("rank"),
        )
        for rank, (stated, kind, value, timing) in enumerate(_fact_kinds(rules, now_stored))
    ]
    return pl.concat(parts).sort(FILE, ROW, "rank").select(FACT_COLUMNS).collect(engine=_ENGINE)


#: occurred_at, match_time and source_ref of a fact.
_Timing = tuple["pl.Expr", "pl.Expr", "pl.Expr"]


def _fact_kinds(rules: Rules, now_stored: Any) -> list[tuple[pl.Expr, str, pl.Expr, _Timing]]:
    """Each kind of fact a row may state, in the row checker's order: whether the row
    states it, its kind, its value and its timing."""
    import polars as pl

    col, lit = pl.col, pl.lit
    now = lit(now_stored)
    called = _timed_by("called_at", rules.sqlite, now)
    callback = col("callback_at_utc")
    callback_iso = (
        pl.when(callback.dt.microsecond() == 0)
        .then(callback.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        .otherwise(callback.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
    )
    untimed = (now, lit(0, pl.Int64), lit(UNTIMED))
    return [
        (_calling(), funnel.EVENT_CALL, col("call_result"), called),
        (
            col("attempts").fill_null(0) > 0,
            funnel.EVENT_ATTEMPTS,
            col("attempts").cast(pl.String),
            (called[0], lit(0, pl.Int64), lit(UNTIMED)),
        ),
        (
            col("callback_at").is_not_null(),
            funnel.EVENT_CALLBACK,
            callback_iso,
            (_stored("callback_at", rules.sqlite), lit(1, pl.Int64), lit(None, pl.String)),
        ),
        (
            col("wecom_added").fill_null(False),
            funnel.EVENT_WECOM,
            lit(None, pl.String),
            _timed_by("wecom_added_at", rules.sqlite, now),
        ),
        (
            col("product_code").is_not_null(),
            funnel.EVENT_PUSHED,
            col("product_code"),
            _timed_by("pushed_at", rules.sqlite, now),
        ),
        (
            col("converted").fill_null(False),
            funnel.EVENT_CONVERTED,
            col("product_code"),
            _timed_by("converted_at", rules.sqlite, now),
        ),
        (col("note").is_not_null(), funnel.EVENT_NOTE, col("note"), untimed),
    ]


def _stored(name: str, sqlite: bool) -> pl.Expr:
    """A time's UTC column as the staged table holds it (SQLite: text; PostgreSQL: as is)."""
    import polars as pl

    utc = pl.col(f"{name}_utc")
    return utc.dt.strftime("%Y-%m-%d %H:%M:%S%.6f") if sqlite else utc


def _timed_by(name: str, sqlite: bool, now: pl.Expr) -> _Timing:
    """occurred_at, match_time, source_ref of a fact the sheet may time by `name`."""
    import polars as pl

    given = pl.col(name).is_not_null()
    return (
        pl.when(given).then(_stored(name, sqlite)).otherwise(now),
        given.cast(pl.Int64),
        pl.when(given).then(pl.lit(None, pl.String)).otherwise(pl.lit(UNTIMED)),
    )


def dnc_times(accepted: pl.DataFrame, now: dt.datetime) -> dict[str, dt.datetime]:
    """Client -> the earliest do-not-call result the accepted rows give (as the row checker
    keeps them in `dnc_in_upload`)."""
    import polars as pl

    col = pl.col
    found = (
        accepted.filter(col("call_result") == funnel.DO_NOT_CALL)
        .group_by("client_id")
        .agg(pl.coalesce(col("called_at_utc"), pl.lit(now).dt.cast_time_unit("us")).min())
    )
    return dict(found.iter_rows())


def _calling() -> pl.Expr:
    """A call result, a call time or more attempts than recorded: evidence of a call."""
    import polars as pl

    col = pl.col
    return (
        col("call_result").is_not_null()
        | col("called_at").is_not_null()
        | (col("attempts").fill_null(0) > col("attempts_so_far").fill_null(0))
    )


def to_utc(rows: pl.DataFrame, tz: ZoneInfo) -> list[pl.Expr]:
    """Each of `TIME_FIELDS` of `rows` as aware UTC, named `<time>_utc`: what
    `clock.to_utc` makes of each time, worked out once per distinct hour (`_offsets`)."""
    offsets = _offsets(rows, tz)
    return [_utc(name, offsets).alias(f"{name}_utc") for name in TIME_FIELDS]


def _offsets(rows: pl.DataFrame, tz: ZoneInfo) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The zone's UTC offset (microseconds) at each distinct hour the sheets give, or at
    each minute of an hour in which the zone changes its offset.

    Worked out by zoneinfo, as `clock.to_utc` does for one time: zones change their
    offsets on the minute, so the offset at a wall-clock minute is the offset at every
    time in it; an hour with the same offset at its first and last minute has it
    throughout (no zone changes its offset twice within an hour).
    """
    import polars as pl

    times = pl.concat([rows[name] for name in TIME_FIELDS]).drop_nulls()
    found: dict[dt.datetime, int | None] = {}
    changing: list[dt.datetime] = []
    for hour in times.dt.truncate("1h").unique().to_list():
        first = _offset_us(hour, tz)
        if first == _offset_us(hour + _LAST_MINUTE, tz):
            found[hour] = first
        else:
            changing.append(hour)
    minutes: dict[dt.datetime, int | None] = {}
    if changing:
        in_changing = times.filter(times.dt.truncate("1h").is_in(changing))
        for minute in in_changing.dt.truncate("1m").unique().to_list():
            minutes[minute] = _offset_us(minute, tz)
    moment = pl.Datetime("us")
    return pl.DataFrame(
        {
            "hour": pl.Series(list(found), dtype=moment),
            "offset": pl.Series(list(found.values()), dtype=pl.Int64),
        }
    ), pl.DataFrame(
        {
            "minute": pl.Series(list(minutes), dtype=moment),
            "offset": pl.Series(list(minutes.values()), dtype=pl.Int64),
        }
    )


_LAST_MINUTE = dt.timedelta(minutes=59)


def _offset_us(moment: dt.datetime, tz: ZoneInfo) -> int | None:
    offset = tz.utcoffset(moment)
    return None if offset is None else offset // dt.timedelta(microseconds=1)


def _utc(name: str, offsets: tuple[pl.DataFrame, pl.DataFrame]) -> pl.Expr:
    """A wall-clock time column as UTC: the time less its hour's, or minute's, offset."""
    import polars as pl

    by_hour, by_minute = offsets
    time = pl.col(name)
    offset = time.dt.truncate("1h").replace_strict(
        by_hour["hour"], by_hour["offset"], default=None, return_dtype=pl.Int64
    )
    if by_minute.height:
        offset = pl.coalesce(
            offset,
            time.dt.truncate("1m").replace_strict(
                by_minute["minute"], by_minute["offset"], default=None, return_dtype=pl.Int64
            ),
        )
    return (time - pl.duration(microseconds=offset)).dt.replace_time_zone("UTC")


def _advisor(rules: Rules) -> pl.Expr:
    """Whose facts: the stamp's advisor for an issued workbook; else the sheet's advisor
    (by code, or by a name only one advisor has), else --advisor, else the client's own.
    Null where the row checker would reject the row for it."""
    import polars as pl

    col, lit = pl.col, pl.lit
    named = col("advisor")
    by_name = named.replace_strict(
        list(rules.advisor_by_name),
        list(rules.advisor_by_name.values()),
        default=None,
        return_dtype=pl.String,
    )
    fallback = (
        lit(rules.default_advisor, pl.String) if rules.default_advisor else col("member_advisor")
    )
    from_sheet = (
        pl.when(named.is_null())
        .then(fallback)
        .when(named.is_in(list(rules.advisor_codes)))
        .then(named)
        .otherwise(by_name)
    )
    return pl.coalesce(col(STAMP_ADVISOR), from_sheet)


@dataclass(frozen=True)
class _Products:
    code: pl.Expr
    risk: pl.Expr


def _products(rules: Rules) -> _Products:
    """Each row's product code and risk, null for an unknown product."""
    import polars as pl

    known = {name: found for name, found in rules.products.items() if found is not None}
    names = list(known)
    product = pl.col("product")
    return _Products(
        code=product.replace_strict(
            names, [code for code, _ in known.values()], default=None, return_dtype=pl.String
        ),
        risk=product.replace_strict(
            names, [risk for _, risk in known.values()], default=None, return_dtype=pl.Int64
        ),
    )
