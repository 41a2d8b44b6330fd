"""Bulk staging (`reactivate.db.bulk`): frames staged whole and exact, on both databases."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from helpers import CAMPAIGN_FILE
from sqlalchemy import exc, func, insert, select

from reactivate import registry
from reactivate.db import bulk, pgcopy
from reactivate.db.engine import open_engine
from reactivate.db.models import MEMBERS

COLUMNS = {"id": "INTEGER", "label": "TEXT", "amount": "DOUBLE PRECISION", "day": "DATE"}
# the cells CSV could confuse: blank against missing, quotes, separators, line breaks
FRAME = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "label": ["plain", "", None, 'say "hi", then\nleave', '逗号,与引号"'],
        "amount": [12345.67, None, 0.1, -1e-7, 3.0],
        "day": ["2020-01-02", None, "1999-12-31", "2020-02-29", "2020-01-02"],
    }
)


@pytest.mark.parametrize("batches", [1, 2])
@pytest.mark.parametrize("dates", ["text", "date"])
def test_frames_are_staged_exactly(db_url: str, batches: int, dates: str) -> None:
    """Days as ISO text or as polars dates (PostgreSQL's binary COPY sends those; SQLite
    stores them as ISO text) come back the same."""
    engine = open_engine(db_url)
    frame = FRAME if dates == "text" else FRAME.with_columns(pl.col("day").str.to_date())
    parts = [frame.slice(0, 2), frame.slice(2)] if batches == 2 else [frame]
    with bulk.begin_with_frames(engine, "stage_test", COLUMNS, parts) as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, label, amount, CAST(day AS TEXT) FROM stage_test ORDER BY id"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == list(FRAME.iter_rows())


def test_each_frame_is_let_go_before_the_next_is_worked_out(db_url: str) -> None:
    """A load works out each file's frame while the one before is staged: none of them is
    still held when the next is asked for (a million rows are 0.1 GB), the first included."""
    held: list[weakref.ref[pl.DataFrame]] = []

    def frames() -> Iterator[pl.DataFrame]:
        for start in range(FRAME.height):
            assert all(ref() is None for ref in held), "a staged frame is still held"
            frame = FRAME.slice(start, 1).clone()
            held.append(weakref.ref(frame))
            yield frame
            del frame

    engine = open_engine(db_url)
    with bulk.begin_with_frames(engine, "stage_test", COLUMNS, frames()) as conn:
        staged = conn.exec_driver_sql("SELECT count(*) FROM stage_test").scalar_one()
    engine.dispose()
    assert staged == FRAME.height


#: every type `pgcopy` sends, with the values its encoding could get wrong: NULLs (a
#: column of them too), empty and Chinese texts, each integer's ends, dates before 2000
#: (negative on the wire) and far from it, times in several zones and before 2000, the
#: float's special values
BINARY_TYPES = {
    "label": "TEXT",
    "note": "TEXT",
    "small": "INTEGER",
    "big": "BIGINT",
    "amount": "DOUBLE PRECISION",
    "day": "DATE",
    "moment": "TIMESTAMP WITH TIME ZONE",
    "flag": "BOOLEAN",
}
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))
BINARY_FRAME = pl.DataFrame(
    {
        "label": ["plain", "", None, "客户 张三，上海浦东", 'q"\t,\n', "x" * 300, "é"],
        "note": pl.Series([None] * 7, dtype=pl.String),  # a column of NULLs: lengths alone
        "small": [0, -1, None, 2**31 - 1, -(2**31), 7, 300],
        "big": [2**62, -(2**63), 0, None, 2**63 - 1, -5, 1],
        "amount": [0.1, -1e-300, None, 1e300, float("inf"), -0.0, 12345.67],
        "day": [
            dt.date(2000, 1, 1),
            dt.date(1999, 12, 31),
            None,
            dt.date(1900, 3, 1),
            dt.date(2099, 12, 31),
            dt.date(2020, 2, 29),
            dt.date(1, 1, 1),
        ],
        "moment": pl.Series(
            [
                dt.datetime(2020, 7, 1, 9, 30, 15, 123456, tzinfo=_SHANGHAI),
                dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
                None,
                dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=dt.UTC),
            ],
            dtype=pl.Datetime("us", "Asia/Shanghai"),
        ),
        "flag": [True, False, None, True, False, True, False],
    },
    schema_overrides={"small": pl.Int64, "big": pl.Int64},
)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("rows_a_part", [2, bulk.COPY_PART])
@pytest.mark.parametrize("column", [None, *BINARY_TYPES])
def test_binary_copy_stages_what_text_copy_does(
    db_url: str, rows_a_part: int, column: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows `copy_frame` sends as binary COPY (`pgcopy`) read back from the table as
    the same rows sent as CSV do, every column together and each alone, in one part and in
    parts of two rows (some parts then without NULLs)."""
    monkeypatch.setattr(bulk, "COPY_PART", rows_a_part)
    frame = BINARY_FRAME if column is None else BINARY_FRAME.select(column)
    types = {name: BINARY_TYPES[name] for name in frame.columns}
    assert pgcopy.encodable(frame, types)
    engine = open_engine(db_url)
    read = f"SELECT {', '.join(types)} FROM {{}} ORDER BY {', '.join(types)}"
    with engine.begin() as conn:
        bulk.create(conn, "stage_binary", types)
        bulk.create(conn, "stage_text", types)
        assert bulk.copy_frame(conn, "stage_binary", frame, types) == frame.height
        assert bulk.copy_frame(conn, "stage_text", frame) == frame.height
        binary = conn.exec_driver_sql(read.format("stage_binary")).all()
        text = conn.exec_driver_sql(read.format("stage_text")).all()
    engine.dispose()
    assert len(binary) == frame.height
    assert [tuple(row) for row in binary] == [tuple(row) for row in text]
    if column == "moment":
        first = dt.datetime(2020, 7, 1, 1, 30, 15, 123456, tzinfo=dt.UTC)
        assert first in [row[0] for row in binary]


@pytest.mark.parametrize(
    ("frame", "types"),
    [
        (pl.DataFrame({"n": [1, 2**31]}), {"n": "INTEGER"}),
        (pl.DataFrame({"n": [-(2**31) - 1]}), {"n": "INTEGER"}),
        (pl.DataFrame({"n": pl.Series([2**63], dtype=pl.UInt64)}), {"n": "BIGINT"}),
        (pl.DataFrame({"n": [1.5]}), {"n": "NUMERIC"}),
        (pl.DataFrame({"d": ["2020-01-02"]}), {"d": "DATE"}),
        (pl.DataFrame({"t": [dt.datetime(2020, 1, 2)]}), {"t": "TIMESTAMP WITH TIME ZONE"}),
        (pl.DataFrame({"s": [1]}), {"s": "TEXT"}),
    ],
)
def test_what_binary_copy_cannot_send_goes_as_text(
    frame: pl.DataFrame, types: dict[str, str]
) -> None:
    """An integer too wide for its column (numpy would wrap it where the server refuses
    it), a type the wire form of which is not written (NUMERIC), a text into a date, a time
    without a zone into a zone's column: `copy_frame` sends such frames as CSV."""
    assert not pgcopy.encodable(frame, types)


_INTERRUPTED_IMPORT = """
import importlib.abc, sys
import polars as pl
from reactivate.db import pgcopy
from reactivate.db.interrupts import Interrupted

class Interrupting(importlib.abc.MetaPathFinder):  # a signal arriving during numpy's import
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise Interrupted(15)

assert "numpy" not in sys.modules
sys.meta_path.insert(0, Interrupting())
try:
    pgcopy.encode(pl.DataFrame({"n": [1, 2]}), ["INTEGER"])
except Interrupted:
    print("interrupted")
"""


def test_an_interrupt_while_numpy_is_imported_is_the_interrupt() -> None:
    """The encoder imports numpy itself before polars' `to_numpy` would from inside Rust,
    where an interrupt raised by the import became a Rust panic with a traceback rather
    than the command's interrupt. Run in a process of its own, which has not imported it."""
    ran = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_IMPORT], capture_output=True, text=True, timeout=60
    )
    assert ran.stdout == "interrupted\n", ran.stderr[-2000:]


def _member(campaign_id: int, client_id: str) -> dict[str, object]:
    """A `member` row of the campaign, as a bulk load writes it."""
    return {
        "campaign_id": campaign_id,
        "client_id": client_id,
        "joined_at": dt.datetime(2020, 7, 1, tzinfo=dt.UTC),
        "dnc": False,
        "control": False,
    }


def test_a_foreign_key_checked_once_still_refuses_a_bad_row(db_url: str) -> None:
    """With the keys dropped and added back (PostgreSQL, many rows), a member of no known
    client fails the transaction as the per-row check would; afterwards the keys are back."""
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign = registry.open_campaign(engine, "2020h2-dormant")
    keys = (
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'member'::regclass"
    )
    postgresql = engine.dialect.name == "postgresql"
    row = _member(campaign.id, "nobody")
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        with bulk.foreign_keys_checked_once(conn, ["member"], bulk.FOREIGN_KEYS_ONCE_FROM):
            conn.execute(insert(MEMBERS), [row])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MEMBERS)).scalar() == 0
        if postgresql:
            assert conn.exec_driver_sql(keys).scalar() == 4
    engine.dispose()


_MEMBER_KEYS = """SELECT conname, convalidated FROM pg_constraint
                  WHERE contype = 'f' AND conrelid = 'member'::regclass ORDER BY 1"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("may_skip", [True, False])
def test_foreign_keys_known_to_hold_are_in_force_before_and_after(
    db_url: str, may_skip: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside `foreign_keys_known_to_hold` the keys are not checked where the role may set
    `session_replication_role` (the caller vouches for its rows), and are checked once
    otherwise (a bad row fails the transaction); either way the keys are never dropped or
    left unvalidated, and a bad row written after the block, in the same transaction, is
    refused by them."""
    monkeypatch.setattr(bulk, "_may_skip_triggers", lambda conn: may_skip)
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign = registry.open_campaign(engine, "2020h2-dormant")
    with engine.connect() as conn:
        keys = conn.exec_driver_sql(_MEMBER_KEYS).all()
    assert len(keys) == 4 and all(valid for _, valid in keys)

    seen: dict[str, object] = {}
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        with bulk.foreign_keys_known_to_hold(conn, ["member"], bulk.FOREIGN_KEYS_ONCE_FROM):
            conn.execute(insert(MEMBERS), [_member(campaign.id, "vouched")])
            seen["during"] = conn.exec_driver_sql("SHOW session_replication_role").scalar()
            seen["kept"] = conn.exec_driver_sql(_MEMBER_KEYS).all()
        # only where the bad row got through: the keys refuse the next one
        seen["after"] = conn.exec_driver_sql("SHOW session_replication_role").scalar()
        conn.execute(insert(MEMBERS), [_member(campaign.id, "after")])
    assert seen["during"] == ("replica" if may_skip else "origin")
    assert seen["kept"] == (keys if may_skip else [])  # checked once: dropped meanwhile
    assert seen.get("after") == ("origin" if may_skip else None)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MEMBERS)).scalar() == 0
        assert conn.exec_driver_sql(_MEMBER_KEYS).all() == keys
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("few_rows_too", [True, False])
def test_few_rows_skip_the_key_triggers_only_when_asked(
    db_url: str, few_rows_too: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few rows (below `FOREIGN_KEYS_ONCE_FROM`) go in without their keys' triggers only
    with `few_rows_too` (an upload's write, which vouches for its rows); otherwise they
    are checked row by row, and a bad one is refused at once."""
    monkeypatch.setattr(bulk, "_may_skip_triggers", lambda conn: True)
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign = registry.open_campaign(engine, "2020h2-dormant")
    seen: dict[str, object] = {}
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        with bulk.foreign_keys_known_to_hold(conn, ["member"], 1, few_rows_too=few_rows_too):
            seen["during"] = conn.exec_driver_sql("SHOW session_replication_role").scalar()
            conn.execute(insert(MEMBERS), [_member(campaign.id, "vouched")])
            seen["through"] = True
        conn.execute(insert(MEMBERS), [_member(campaign.id, "after")])
    assert seen["during"] == ("replica" if few_rows_too else "origin")
    assert seen.get("through", False) == few_rows_too
    engine.dispose()


_MEMBER_KEY_AND_INDEXES = """SELECT indexname, indexdef FROM pg_indexes
                             WHERE schemaname = current_schema() AND tablename = 'member'
                             ORDER BY 1"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_key_built_after_the_rows_still_refuses_a_repeated_row(db_url: str) -> None:
    """With `keys`, a table's primary key is dropped for a bulk insert into it and added
    back after: a row that repeats a key fails the transaction then, as the insert would
    have; afterwards (and after a good insert) the key and indexes are all as before, and
    a key other tables' foreign keys refer to (client's) stays throughout."""
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign = registry.open_campaign(engine, "2020h2-dormant")
    with engine.connect() as conn:
        before = conn.exec_driver_sql(_MEMBER_KEY_AND_INDEXES).all()
    assert any(name == "member_pkey" for name, _ in before)
    row = _member(campaign.id, "c1")
    tables = ["client", "member"]
    seen: dict[str, object] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO client (client_id, updated_at) VALUES ('c1', now()), ('c2', now())"
        )
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        with bulk.indexes_built_after(conn, tables, bulk.FOREIGN_KEYS_ONCE_FROM, keys=True):
            conn.execute(insert(MEMBERS), [row, row])  # taken in: no key meanwhile
            seen["during"] = conn.exec_driver_sql(_MEMBER_KEY_AND_INDEXES).all()
            seen["client"] = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_indexes"
                " WHERE schemaname = current_schema() AND indexname = 'client_pkey'"
            ).scalar()
    assert seen == {"during": [], "client": 1}
    with engine.begin() as conn:
        with bulk.indexes_built_after(conn, tables, bulk.FOREIGN_KEYS_ONCE_FROM, keys=True):
            conn.execute(insert(MEMBERS), [row, {**row, "client_id": "c2"}])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MEMBERS)).scalar() == 2
        assert conn.exec_driver_sql(_MEMBER_KEY_AND_INDEXES).all() == before
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_bulk_insert_keeps_the_partial_indexes_in_place(db_url: str) -> None:
    """The summary's partial indexes (revisions 0010 and 0011) stay, the same indexes,
    through `indexes_built_after`: a load's new members fall outside them, so each costs
    the test of a condition, where building them again would read every row. The key is
    dropped and added back as before."""
    from reactivate.db import models

    engine = open_engine(db_url)
    catalog = """SELECT indexrelid::regclass::text, indexrelid FROM pg_index
                 WHERE indrelid = 'client_stage'::regclass ORDER BY 1"""
    with engine.connect() as conn:
        before = dict(conn.exec_driver_sql(catalog).all())
    partial = {models.SPAN_INDEX, *models.PARTIAL_ON_POSTGRESQL}
    assert partial < set(before)
    with engine.begin() as conn:
        with bulk.indexes_built_after(
            conn, ["client_stage"], bulk.FOREIGN_KEYS_ONCE_FROM, keys=True
        ):
            during = dict(conn.exec_driver_sql(catalog).all())
    with engine.connect() as conn:
        after = dict(conn.exec_driver_sql(catalog).all())
    engine.dispose()
    assert during == {name: oid for name, oid in before.items() if name in partial}
    assert set(after) == set(before) and after["client_stage_pkey"] != before["client_stage_pkey"]


def _setting_as_built(
    db_url: str, name: str, value: str, **options: Any
) -> tuple[list[tuple[str, str]], str]:
    """Setting `name` as each key and index of `member` built after a row by
    `indexes_built_after(**options)` read it, the transaction's own being `value`; and
    the transaction's own once they are built."""
    from sqlalchemy import event

    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign = registry.open_campaign(engine, "2020h2-dormant")
    read: list[tuple[str, str]] = []

    def note(conn: Any, cursor: Any, statement: str, *args: object) -> None:
        if statement.startswith(("CREATE INDEX", "ALTER TABLE member ADD")):
            cursor.execute(f"SHOW {name}")
            read.append((statement.split()[2], cursor.fetchone()[0]))

    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO client (client_id, updated_at) VALUES ('c1', now())")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
        event.listen(conn, "after_cursor_execute", note)
        with bulk.indexes_built_after(
            conn, ["member"], bulk.FOREIGN_KEYS_ONCE_FROM, keys=True, **options
        ):
            conn.execute(insert(MEMBERS), [_member(campaign.id, "c1")])
        event.remove(conn, "after_cursor_execute", note)
        after = conn.exec_driver_sql(f"SHOW {name}").scalar()
    engine.dispose()
    return read, after


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("parallel", [True, False])
def test_indexes_built_after_without_parallel_workers(db_url: str, parallel: bool) -> None:
    """Without `parallel`, the indexes and keys built after the rows are built with no
    parallel workers (the setting read by each CREATE INDEX and ADD CONSTRAINT), and
    the transaction's own setting is as it was once they are built; with it, untouched."""
    workers, after = _setting_as_built(
        db_url, "max_parallel_maintenance_workers", "3", parallel=parallel
    )
    built = "3" if parallel else "0"
    assert workers == [("member", built), ("ix_member_advisor_code", built)]
    assert after == "3"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("in_order", [True, False])
def test_keys_of_rows_in_key_order_are_sorted_in_memory(db_url: str, in_order: bool) -> None:
    """With `keys_in_order`, the keys added back after the rows are sorted with
    KEY_SORT_MEMORY (the setting read by each ADD CONSTRAINT), the secondary indexes with
    the transaction's own, which is as it was once they are built; without it, untouched."""
    memory, after = _setting_as_built(
        db_url, "maintenance_work_mem", "200MB", keys_in_order=in_order
    )
    key = bulk.KEY_SORT_MEMORY if in_order else "200MB"
    assert memory == [("member", key), ("ix_member_advisor_code", "200MB")]
    assert after == "200MB"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_interrupt_that_leaves_a_fetch_half_sent_ends_as_the_interrupt(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An interrupt that lands while a streamed read's FETCH is being sent leaves the
    connection busy: the transaction ends as the interrupt (its connection invalidated,
    no ROLLBACK sent), not as a failed ROLLBACK ("another command is already in
    progress") with a traceback logged while the pool resets the connection."""
    import psycopg

    from reactivate.db.dialect import streamed_rows
    from reactivate.db.interrupts import Interrupted

    def half_sent(cursor: psycopg.ServerCursor[Any], size: int = 0) -> list[Any]:
        cursor.connection.pgconn.send_query(b"SELECT 1")  # sent, its answer never read
        raise Interrupted(2)

    monkeypatch.setattr(psycopg.ServerCursor, "fetchmany", half_sent)
    engine = open_engine(db_url)
    with pytest.raises(Interrupted), engine.begin() as conn:
        for _ in streamed_rows(conn, "SELECT 1", 10):
            pass
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    with engine.connect() as conn:  # the pool gives a working connection again
        assert conn.exec_driver_sql("SELECT 2").scalar() == 2
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_streamed_read_closed_after_its_connection_says_nothing(db_url: str) -> None:
    """A streamed read left unfinished (an interrupt between its batches) may be
    collected after its connection's `with` has closed it: the generator's exit then
    finds nothing to invalidate, rather than a "This Connection is closed" traceback
    printed as an ignored exception over the user's "Interrupted" message."""
    from reactivate.db.dialect import streamed_rows

    engine = open_engine(db_url)
    with engine.connect() as conn:
        batches = streamed_rows(conn, "SELECT generate_series(1, 100)", 10)
        assert len(next(batches)) == 10
    batches.close()  # as the collector would: GeneratorExit inside the read
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 2").scalar() == 2
    engine.dispose()
