"""The report's tallies (`db.tally`) kept in step by every refresh equal a rebuild from the
events, whatever changes came before; and a histogram's median is the exact median.

Changes are made the way the writers make them: events appended (calls of every
disposition, WeCom adds self-reported or from a sync, pushes, conversions,
reactivations), void events cancelling earlier ones (undo, corrections), members
reassigned, moved to the control group or left without an advisor, clients' branch,
assets and risk changed by a later load; each followed by `stages.refresh` of the clients
it touched, in its transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import CAMPAIGN_FILE
from hypothesis import given, settings
from hypothesis import strategies as st
from report_campaign import ADVISORS, AS_OF, SLUG, Data, Ev, generate, insert
from sqlalchemy import Engine, create_engine, text
from upload_campaign import ACCOUNTS_HEADER, CLIENTS, invoke, setup_db

from reactivate import registry
from reactivate.db import bulk, stages, tally
from reactivate.db import models as tables
from reactivate.db.engine import open_engine
from reactivate.report import ReportOptions, build_report
from reactivate.rules import funnel

KINDS = ("call", "wecom", "pushed", "converted", "reactivated", "void", "reassign", "client")
BREAKDOWNS = (None, "advisor", "branch", "week", "cohort", "risk", "asset_band")


def test_the_database_works_out_each_histogram_s_exact_median(db_url: str) -> None:
    rng = random.Random(7)
    values: dict[tuple[str, str], list[int]] = {}
    rows = []
    for group in range(300):
        for stage in ("called", "wecom"):
            drawn = [rng.randrange(0, 40) for _ in range(rng.randrange(0, 12))]
            histogram = {day: drawn.count(day) for day in set(drawn)}
            histogram[rng.randrange(0, 40) + 100] = 0  # an emptied cell counts nothing
            if drawn:
                values[(f"g{group}", stage)] = drawn
            rows += [{"k": f"g{group}", "s": stage, "d": d, "n": n} for d, n in histogram.items()]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE hist (k TEXT, stage TEXT, day INTEGER, n BIGINT)"))
        conn.execute(text("INSERT INTO hist VALUES (:k, :s, :d, :n)"), rows)
        found = tally.medians_by(
            conn.execute(text(tally.medians_sql("SELECT k, stage, day, n FROM hist")))
        )
    engine.dispose()
    assert found == {group: statistics.median(drawn) for group, drawn in values.items()}


def test_day_counts_work_out_the_database_s_medians_from_rows_read_apart(db_url: str) -> None:
    """`DayCounts` (a window's medians from the day histograms read beside its returning
    clients, `report.ahead`) sums the rows of a day given by several statements, leaves
    out days that count nothing, and gives the median `medians_sql` gives."""
    rng = random.Random(11)
    rows = []
    for group in range(300):
        for stage in ("called", "wecom"):
            for day in rng.sample(range(-3, 40), rng.randrange(0, 8)):
                rows.append((f"g{group}", stage, day, rng.choice([0, 1, 1, 2, 5])))
                if rng.random() < 0.3:  # the same day from the other statement
                    rows.append((f"g{group}", stage, day, rng.randrange(0, 3)))
    rng.shuffle(rows)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE hist (k TEXT, stage TEXT, day INTEGER, n BIGINT)"))
        conn.execute(
            text("INSERT INTO hist VALUES (:k, :s, :d, :n)"),
            [{"k": k, "s": s, "d": d, "n": n} for k, s, d, n in rows],
        )
        summed = "SELECT k, stage, day, SUM(n) AS n FROM hist GROUP BY k, stage, day"
        expected = tally.medians_by(conn.execute(text(tally.medians_sql(summed))))
    engine.dispose()
    counts = tally.DayCounts()
    half = len(rows) // 2
    counts.add(rows[:half])
    counts.add([])
    counts.add(rows[half:])
    assert counts.medians() == expected
    assert len(expected) > 400
    assert tally.DayCounts().medians() == {}
    nothing = tally.DayCounts()
    nothing.add_columns(*tally.numbered_columns([], {}, 2, 3))
    assert nothing.medians() == {}


def test_the_rows_read_as_json_arrays_are_the_stored_rows(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite hands the tallies their rows as one JSON array per column and batch
    (`tally._json_batches`): every row the condition picks, once, in rowid order and in
    batches; text as stored (quotes, backslashes, line breaks, CJK, NULL apart from ''),
    integers, and whole days rounded down from the stored REAL by the database (a value
    just under a whole day, which JSON's 15 digits would make whole)."""
    import polars as pl

    monkeypatch.setattr(tally, "_BATCH", 3)
    texts = ['a"b', "back\\slash", "line\nbreak", "上海浦东", "", None, "tab\tx", "\u2028", "😀"]
    days = [2.9999999999999996, -0.5, -1.0, 0.0, 3.0, None, 1e-12, -2.9999999999999996, 41.25]
    rows = [
        {"id": 3 * i + 1, "picked": i % 4 != 1, "txt": txt, "n": i - 4 if i % 3 else None, "d": d}
        for i, (txt, d) in enumerate(zip(texts, days, strict=True))
    ]
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE held (txt TEXT, n INTEGER, d REAL, picked BOOLEAN)"))
        conn.execute(
            text("INSERT INTO held (rowid, txt, n, d, picked) VALUES (:id, :txt, :n, :d, :picked)"),
            rows,
        )
        frames = list(
            tally._json_batches(
                conn,
                "held",
                "picked",
                {"txt": "txt", "n": "n", "whole": tally.floor_days("d", sqlite=True)},
                {"txt": pl.String, "n": pl.Int64, "whole": pl.Int64},
            )
        )
    engine.dispose()
    assert len(frames) > 1 and all(frame.height <= 3 for frame in frames)
    read = [row for frame in frames for row in frame.iter_rows()]
    picked = [r for r in rows if r["picked"]]
    assert read == [
        (r["txt"], r["n"], None if r["d"] is None else math.floor(r["d"])) for r in picked
    ]
    assert read[0][2] == 2  # 2.9999999999999996, not 3


def snapshot(engine: Engine, campaign_id: int) -> tuple[list[Any], ...]:
    """The campaign's tallies and its summary rows (rewritten in place by a refresh of a
    few clients on SQLite, deleted and inserted by a rebuild), in a stable order."""
    with engine.connect() as conn:
        summary = conn.execute(
            text("SELECT * FROM client_stage WHERE campaign_id = :c"), {"c": campaign_id}
        ).all()
        tallies = conn.execute(
            text("SELECT * FROM stage_tally WHERE campaign_id = :c AND members <> 0"),
            {"c": campaign_id},
        ).all()
        days = conn.execute(
            text("SELECT * FROM stage_days WHERE campaign_id = :c AND clients <> 0"),
            {"c": campaign_id},
        ).all()
        dates = conn.execute(
            text("SELECT * FROM stage_dates WHERE campaign_id = :c"), {"c": campaign_id}
        ).all()
    return tuple(sorted(map(tuple, rows), key=repr) for rows in (tallies, days, dates, summary))


def reports(engine: Engine) -> list[dict[str, Any]]:
    found = []
    for by in BREAKDOWNS:
        report = build_report(engine, SLUG, ReportOptions(by=by, as_of=AS_OF)).to_json()
        found.append({k: v for k, v in report.items() if k != "generated_at"})
    return found


def change(engine: Engine, campaign_id: int, rng: random.Random, kind: str) -> None:
    """One writer's change to a few clients, then the refresh of those clients."""
    with engine.begin() as conn:
        members = [r[0] for r in conn.execute(text("SELECT client_id FROM member")).all()]
        touched = rng.sample(members, k=min(len(members), rng.randint(1, 6)))
        when = dt.datetime(2020, 7, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.uniform(-30, 1500))
        if kind == "void":
            live = conn.execute(
                text(
                    "SELECT e.id, e.client_id FROM event e WHERE e.stage <> 'void' AND NOT EXISTS"
                    " (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
                )
            ).all()
            touched = []
            for event_id, client in rng.sample(live, k=min(len(live), rng.randint(1, 4))):
                _event(conn, campaign_id, client, funnel.EVENT_VOID, when, None, "undo", event_id)
                touched.append(client)
        elif kind == "reassign":
            for client in touched:
                advisor = rng.choice([*ADVISORS, None])
                conn.execute(
                    text(
                        "UPDATE member SET advisor_code = :a, control = :ctl, assigned_at = :at"
                        " WHERE campaign_id = :c AND client_id = :client"
                    ),
                    {
                        "a": advisor,
                        "ctl": advisor is None and rng.random() < 0.5,
                        "at": when if advisor else None,
                        "c": campaign_id,
                        "client": client,
                    },
                )
        elif kind == "client":
            for client in touched:
                conn.execute(
                    text(
                        "UPDATE client SET branch = :b, assets = :assets, risk = :risk"
                        " WHERE client_id = :client"
                    ),
                    {
                        "b": rng.choice(["一部", "二部", None]),
                        "assets": rng.choice([None, 500.0, 20_000.0, 2_000_000.0]),
                        "risk": rng.choice([None, 1, 3, 5]),
                        "client": client,
                    },
                )
        else:
            for client in touched:
                stage, value, source = {
                    "call": (funnel.EVENT_CALL, rng.choice(funnel.DISPOSITIONS), "upload"),
                    "wecom": (funnel.EVENT_WECOM, None, rng.choice(["upload", "wecom"])),
                    "pushed": (funnel.EVENT_PUSHED, "MMF01", "upload"),
                    "converted": (funnel.EVENT_CONVERTED, "MMF01", "upload"),
                    "reactivated": (funnel.EVENT_REACTIVATED, "2020-09-01", "activity"),
                }[kind]
                _event(conn, campaign_id, client, stage, when, value, source, None)
        stages.refresh(conn, campaign_id, touched)


def _event(
    conn: Any,
    campaign_id: int,
    client: str,
    stage: str,
    when: dt.datetime,
    value: str | None,
    source: str,
    voids: int | None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, source,"
            " recorded_by, recorded_at, voids_event_id)"
            " VALUES (:c, :client, :stage, :value, :at, :source, 'test', :at, :voids)"
        ),
        {
            "c": campaign_id,
            "client": client,
            "stage": stage,
            "value": value,
            "at": when,
            "source": source,
            "voids": voids,
        },
    )


def check_against_a_rebuild(engine: Engine, seed: int, kinds: list[str]) -> None:
    registry.register(engine, CAMPAIGN_FILE)
    campaign_id = registry.get(engine, SLUG).id
    insert(engine, campaign_id, generate(seed, n=40))
    rng = random.Random(seed)
    for kind in kinds:
        change(engine, campaign_id, rng, kind)
    kept, kept_reports = snapshot(engine, campaign_id), reports(engine)
    with engine.connect() as conn:  # a group a change emptied is dropped, not kept at 0
        emptied = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM stage_tally WHERE campaign_id = :c AND members = 0)"
                " + (SELECT COUNT(*) FROM stage_days WHERE campaign_id = :c AND clients = 0)"
                " + (SELECT COUNT(*) FROM stage_dates WHERE campaign_id = :c AND clients = 0"
                " AND reactivated = 0 AND callable = 0)"
            ),
            {"c": campaign_id},
        ).scalar_one()
    assert emptied == 0
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)  # the whole campaign, from the events
    assert snapshot(engine, campaign_id) == kept
    assert reports(engine) == kept_reports
    if engine.dialect.name == "postgresql":
        found = later_calls(engine, campaign_id)
        assert found == later_calls_of_the_events(engine, campaign_id)
        assert any(later for later, _reached in found.values())  # some called more than once


Instants = tuple[dt.datetime, ...]


def later_calls(engine: Engine, campaign_id: int) -> dict[str, tuple[Instants, Instants]]:
    """PostgreSQL's summary columns of each client's later call times (`stages.LATER_CALLS`):
    client -> (call times after its first, of those the answered ones), each a multirange of
    single instants."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT client_id, {', '.join(stages.LATER_CALLS)} FROM client_stage"
                " WHERE campaign_id = :c"
            ),
            {"c": campaign_id},
        ).all()
    found = {}
    for client, *ranges in rows:
        times = []
        for multirange in ranges:
            assert all(r.lower == r.upper and r.bounds == "[]" for r in multirange or [])
            times.append(tuple(r.lower for r in multirange or []))
        found[client] = (times[0], times[1])
    return found


def later_calls_of_the_events(
    engine: Engine, campaign_id: int
) -> dict[str, tuple[Instants, Instants]]:
    """The same from the events, in Python: each client's distinct unvoided call times but
    its first, and those at which some call reached them."""
    with engine.connect() as conn:
        clients = conn.execute(
            text("SELECT client_id FROM client_stage WHERE campaign_id = :c"), {"c": campaign_id}
        ).scalars()
        calls = conn.execute(
            text(
                "SELECT e.client_id, e.occurred_at, e.value FROM event e"
                " WHERE e.campaign_id = :c AND e.stage = :call AND NOT EXISTS"
                " (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
            ),
            {"c": campaign_id, "call": funnel.EVENT_CALL},
        ).all()
        found: dict[str, tuple[Instants, Instants]] = {client: ((), ()) for client in clients}
    times: dict[str, dict[dt.datetime, bool]] = {}
    for client, when, value in calls:
        reached = times.setdefault(client, {})
        reached[when] = reached.get(when, False) or value in funnel.REACHED_DISPOSITIONS
    for client, reached in times.items():
        later = sorted(reached)[1:]
        found[client] = (tuple(later), tuple(t for t in later if reached[t]))
    return found


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), kinds=st.lists(st.sampled_from(KINDS), max_size=12))
def test_tallies_kept_in_step_equal_a_rebuild(seed: int, kinds: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'tally.db'}")
        try:
            check_against_a_rebuild(engine, seed, kinds)
        finally:
            engine.dispose()


@pytest.mark.parametrize("seed", [1, 2])
def test_tallies_kept_in_step_equal_a_rebuild_on_each_database(db_url: str, seed: int) -> None:
    engine = open_engine(db_url)
    rng = random.Random(seed)
    check_against_a_rebuild(engine, seed, [rng.choice(KINDS) for _ in range(25)])
    engine.dispose()


@pytest.mark.parametrize("may_skip", [True, False])
def test_a_rebuild_written_in_bulk_equals_the_tallies_kept_in_step(
    db_url: str, may_skip: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild of a big campaign on PostgreSQL moves its rows in without a foreign-key
    trigger per row (or with the keys checked once, where the role may not skip them): the
    same rows and tallies as the ones kept in step, and the keys and indexes in place
    afterwards. (Here every rebuild is big.)"""
    monkeypatch.setattr(bulk, "FOREIGN_KEYS_ONCE_FROM", 1)
    monkeypatch.setattr(bulk, "_may_skip_triggers", lambda conn: may_skip)
    engine = open_engine(db_url)
    catalog = (
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype = 'f'"
        " UNION ALL SELECT indexrelid::regclass::text FROM pg_index"
        " WHERE indrelid = to_regclass(:t) ORDER BY 1"
    )
    postgresql = engine.dialect.name == "postgresql"

    def keys_and_indexes() -> list[list[str]]:
        with engine.connect() as conn:
            return [
                [row[0] for row in conn.execute(text(catalog), {"t": table})]
                for table in ("client_stage", "stage_tally", "stage_days", "stage_dates")
            ]

    before = keys_and_indexes() if postgresql else None
    check_against_a_rebuild(engine, 3, ["call", "wecom", "void", "reassign", "client", "call"])
    if postgresql:
        assert keys_and_indexes() == before
        # campaign, client; the key, and the summary's indexes the revisions make for
        # PostgreSQL (`tables.PARTIAL_ON_POSTGRESQL`, `tables.SPAN_INDEX`)
        made = {tables.SPAN_INDEX, *tables.PARTIAL_ON_POSTGRESQL}
        assert made <= set(before[0])
        assert len(before[0]) == 3 + len(made)
    engine.dispose()


def test_a_refresh_of_most_of_a_campaign_counts_its_tallies_anew(db_url: str) -> None:
    """Most members touched (a load, an assignment, every advisor's upload): the tallies
    are counted anew rather than changed by delta, and still equal a rebuild."""
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign_id = registry.get(engine, SLUG).id
    insert(engine, campaign_id, generate(5, n=40))
    when = dt.datetime(2020, 7, 20, tzinfo=dt.UTC)
    with engine.begin() as conn:
        members = sorted(r[0] for r in conn.execute(text("SELECT client_id FROM member")))
        touched = members[: len(members) * 3 // 4]
        for client in touched:
            _event(conn, campaign_id, client, funnel.EVENT_CALL, when, "connected", "upload", None)
        stages.refresh(conn, campaign_id, touched)
    kept = snapshot(engine, campaign_id)
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    assert snapshot(engine, campaign_id) == kept
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_whole_campaign_s_tallies_hash_their_grouping_sets_where_the_guesses_are_big(
    db_url: str,
) -> None:
    """PostgreSQL guesses a grouping set's groups from its rows, far above the groups
    found, and sorts (on disk, past a few million members) the sets whose guessed hash
    tables pass its hash memory: the rebuild's tallies run with more of it
    (`stages.TALLY_SETTINGS`), so that every set is hashed. Seen here at a small scale:
    a few hundred members under the least work_mem."""
    from reactivate.db import dialect

    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign_id = registry.get(engine, SLUG).id
    insert(engine, campaign_id, generate(5, n=300))

    def sorts(conn: Any) -> list[int]:
        statements = tally.campaign_sql(
            stages.tally_funnel(stages.registered_campaign(conn, campaign_id), sqlite=False)
        )
        found = []
        for statement in statements:
            plan = conn.execute(
                text(f"EXPLAIN {statement}"), {"cid": campaign_id, "no_time": tally.NO_TIME}
            ).scalars()
            found.append(sum("Sort Key" in line for line in plan))
        return found

    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL work_mem = '64kB'")
        assert sorts(conn)[1:] != [0, 0]  # the default: the histograms' sets sorted
        with dialect.settings(conn, stages.TALLY_SETTINGS):
            assert sorts(conn)[1:] == [0, 0]
    engine.dispose()


def test_a_later_load_that_changes_a_client_s_keys_moves_them_between_groups(
    db_url: str, tmp_path: Path
) -> None:
    """The summary keeps each client's risk and asset band: a load that changes them
    rewrites the client's rows, so a breakdown shows what `client` now holds."""
    setup_db(db_url, tmp_path)
    engine = open_engine(db_url)
    campaign_id = registry.get(engine, SLUG).id
    with engine.begin() as conn:  # the set-up moves a member to control by plain SQL
        stages.refresh(conn, campaign_id)
    before = build_report(engine, SLUG, ReportOptions(by="risk"))
    engine.dispose()
    accounts = tmp_path / "again.csv"
    lines = [ACCOUNTS_HEADER] + [
        f"{cid},{name},138{cid[-8:]},上海浦东南路营业部,"
        f"{2_000_000 if cid == '0010000001' else 20000},2019-06-01,"
        f"{'C5' if cid == '0010000001' else risk}"
        for cid, (name, risk) in CLIENTS.items()
    ]
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("load", str(accounts), "--campaign", SLUG, "--yes", db=db_url)
    assert result.exit_code == 0, result.output
    engine = open_engine(db_url)
    by_risk = {
        g.key: g.assigned for g in build_report(engine, SLUG, ReportOptions(by="risk")).groups
    }
    was = {g.key: g.assigned for g in before.groups}
    assert by_risk["C3"] == was["C3"] - 1 and by_risk["C5"] == was["C5"] + 1
    bands = build_report(engine, SLUG, ReportOptions(by="asset_band")).groups
    assert {g.key: g.assigned for g in bands}["500k+"] == 1
    kept = snapshot(engine, campaign_id)
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    assert snapshot(engine, campaign_id) == kept
    engine.dispose()


def test_the_trend_s_weeks_follow_the_campaign_s_zone_across_its_clock_changes(
    db_url: str, tmp_path: Path
) -> None:
    """A stage first reached late on a Sunday or early on a Monday, local time, counts in
    that local week, on either side of New York's clock changes (an offset an hour off
    would move each of these calls to the other week)."""
    zone = "America/New_York"
    definition = CAMPAIGN_FILE.read_text(encoding="utf-8")
    campaign_file = tmp_path / "new-york.toml"
    campaign_file.write_text(
        definition.replace('timezone = "Asia/Shanghai"', f'timezone = "{zone}"'), encoding="utf-8"
    )
    engine = open_engine(db_url)
    registry.register(engine, campaign_file)
    campaign_id = registry.get(engine, SLUG).id
    utc = dt.UTC
    first_calls = [
        dt.datetime(2020, 11, 2, 4, 30, tzinfo=utc),  # Sunday 23:30 EST (EDT: Monday 00:30)
        dt.datetime(2020, 11, 2, 5, 30, tzinfo=utc),  # Monday 00:30 EST
        dt.datetime(2020, 11, 9, 3, 30, tzinfo=utc),  # Sunday 22:30 EST
        dt.datetime(2021, 3, 15, 4, 30, tzinfo=utc),  # Monday 00:30 EDT (EST: Sunday 23:30)
        dt.datetime(2021, 3, 15, 3, 30, tzinfo=utc),  # Sunday 23:30 EDT
    ]
    data = Data()
    for i, called in enumerate(first_calls):
        client = f"009900000{i}"
        data.clients[client] = {
            "client_id": client,
            "name": "张三",
            "mobile": f"1380000000{i}",
            "branch": "一部",
            "assets": 500.0,
            "risk": 3,
        }
        data.members[client] = {
            "client_id": client,
            "advisor": "A001",
            "assigned_at": dt.datetime(2020, 10, 1, tzinfo=utc),
            "control": False,
            "dnc": False,
        }
        data.events.append(Ev(2 * i + 1, client, funnel.EVENT_CALL, called, "no_answer"))
        later = called + dt.timedelta(days=3)
        data.events.append(Ev(2 * i + 2, client, funnel.EVENT_CALL, later, "connected"))
    insert(engine, campaign_id, data)
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
        counted = conn.execute(
            text(
                "SELECT key, SUM(clients) FROM stage_days WHERE campaign_id = :c"
                " AND dim = :week AND stage = :stage GROUP BY key"
            ),
            {"c": campaign_id, "week": tally.WEEK, "stage": funnel.CALLED},
        ).all()
    engine.dispose()
    expected: dict[dt.date, int] = {}
    for called in first_calls:
        day = called.astimezone(ZoneInfo(zone)).date()
        monday = day - dt.timedelta(days=day.weekday())
        expected[monday] = expected.get(monday, 0) + 1
    assert {tally.monday_of(key): int(n) for key, n in counted} == expected
