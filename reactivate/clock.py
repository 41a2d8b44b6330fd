"""Time: stored as aware UTC; read and shown in the campaign's zone (Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import cast
from zoneinfo import ZoneInfo

#: The zone of times that belong to no campaign (imports, rosters).
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> dt.datetime:
    """Now, aware, in UTC (what the database stores)."""
    return dt.datetime.now(dt.UTC)


def to_utc(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A datetime from a sheet (naive = wall clock in `tz`) as aware UTC."""
    if moment.tzinfo is None:
        # The wall time less the zone's offset at it: what attaching `tz` and converting
        # gives (fold 0 for a time that occurs twice), at half the cost, which counts when
        # an upload converts every distinct time of a million rows.
        offset = tz.utcoffset(moment)
        if offset is not None:  # a ZoneInfo always has one; the type allows None
            return (moment - offset).replace(tzinfo=dt.UTC)
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)


def local(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A stored UTC datetime on the campaign's wall clock."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC through raw SQL
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(tz)


def shown_column(values: Sequence[object], tz: ZoneInfo) -> list[dt.datetime | None]:
    """Stored times read raw (as `from_db` takes them) in `tz`, a column at once: for a
    few hundred thousand values, calling `from_db` for each costs more than converting.
    SQLite's naive UTC text is parsed with its zone appended (a third of the cost of
    parsing it naive and attaching UTC with `replace`), by one comprehension with no call
    of ours per value; anything else (PostgreSQL's datetimes, text with an offset of its
    own) goes value by value."""
    parse, texts = dt.datetime.fromisoformat, cast("Sequence[str | None]", values)
    try:
        return [
            value if value is None else parse(value + "+00:00").astimezone(tz) for value in texts
        ]
    except (TypeError, ValueError):
        return [_shown(value, tz) for value in values]


def _shown(value: object, tz: ZoneInfo) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text with an offset of its own
            moment = dt.datetime.fromisoformat(value)
    else:
        assert isinstance(value, dt.datetime)
        moment = value
    return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment).astimezone(tz)


def from_db(value: object) -> dt.datetime | None:
    """A datetime read with raw SQL as aware UTC (SQLite hands back text, PostgreSQL datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: the years `offset_spans` looks for a zone's changes of offset in
SPAN_YEARS = (1900, 2100)


@functools.cache
def offset_spans(
    tz: ZoneInfo, years: tuple[int, int] = SPAN_YEARS
) -> tuple[tuple[dt.datetime | None, dt.timedelta], ...]:
    """`tz`'s offsets from UTC, each with the UTC time (naive) it starts at, in order: the
    first span reaches back to any time (its start None), the last forward. Found by a
    weekly scan of `years` (`SPAN_YEARS` unless told: times known to fall in a few years
    need only those scanned; each change then to the second; a zone that changes and
    changes back within a week, which none does in those years, would be missed): for a
    database that cannot convert times itself (SQLite), the offset of each as SQL."""
    epoch = dt.datetime(1970, 1, 1)

    def offset(second: int) -> dt.timedelta:
        return cast(dt.timedelta, dt.datetime.fromtimestamp(second, tz).utcoffset())

    week = 7 * 24 * 3600
    second = int((dt.datetime(years[0], 1, 1) - epoch).total_seconds())
    end = int((dt.datetime(years[1], 1, 1) - epoch).total_seconds())
    current = offset(second)
    spans: list[tuple[dt.datetime | None, dt.timedelta]] = [(None, current)]
    while second < end:
        after = second + week
        if offset(after) == current:
            second = after
            continue
        low, high = second, after  # the offset is `current` at low, not at high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if offset(middle) == current else (low, middle)
        current = offset(high)
        spans.append((epoch + dt.timedelta(seconds=high), current))
        second = high
    return tuple(spans)
