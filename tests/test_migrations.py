"""Schema upgrades keep the data: Alembic revisions, and databases from before them.

The fixture `legacy_v2.sql` is a database the last release before revisions made (its
demo, on 120 accounts; tests/data/make_legacy_db.py), with that release's reports of it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import TEST_DATA, query, scalar
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db import migrate, models
from reactivate.db.migrations import HEAD, baseline
from reactivate.errors import DatabaseError

SLUG = "2020h2-dormant"
LEGACY_REPORTS = json.loads((TEST_DATA / "legacy_v2_reports.json").read_text(encoding="utf-8"))


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


def said(*args: str, code: int = 0) -> str:
    """What a command printed, as one line (the console wraps long ones)."""
    return " ".join(run(*args, code=code).split())


def legacy_database(path: Path) -> str:
    """A SQLite file holding the last release's database, as it left it."""
    conn = sqlite3.connect(path)
    conn.executescript((TEST_DATA / "legacy_v2.sql").read_text(encoding="utf-8"))
    conn.close()
    return str(path)


#: The fixture's breakdowns by this release's names: its week of assignment is the cohort.
RENAMED = {"week": "cohort"}


def reports(db: str) -> dict[str, Any]:
    """`reactivate report --format json`, whole and by each breakdown, as the fixture holds them."""
    found = {}
    for key in LEGACY_REPORTS:
        by = [] if key == "campaign" else ["--by", RENAMED.get(key, key)]
        report = json.loads(run("report", "-c", SLUG, "-f", "json", "--db", db, *by))
        if report["by"] in RENAMED.values():
            report["by"] = key
        found[key] = report
    return timeless(found)


def timeless(reports: dict[str, Any]) -> dict[str, Any]:
    return {key: {k: v for k, v in r.items() if k != "generated_at"} for key, r in reports.items()}


def same_figures(found: Any, legacy: Any) -> None:
    """Every figure as the last release reported it, but medians: those are now of whole
    days (rounded down), so each lies in (the release's median - 1, its median]."""
    if isinstance(found, dict):
        assert set(found) == set(legacy)
        for key, value in found.items():
            if key == "median_days" and value is not None:
                assert legacy[key] - 1 < value <= legacy[key] + 0.005, (value, legacy[key])
            else:
                same_figures(value, legacy[key])
    elif isinstance(found, list):
        assert len(found) == len(legacy)
        for mine, theirs in zip(found, legacy, strict=True):
            same_figures(mine, theirs)
    else:
        assert found == legacy


def schema_differences(url: str) -> list[Any]:
    """What the database's tables lack or have beyond the models' (Alembic's comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)

    def made_here(item: Any, name: Any, kind: Any, reflected: Any, _other: Any) -> bool:
        if kind == "index" and reflected and name in (*models.REVISION_ONLY, models.VOIDS_INDEX):
            return False  # not in the models for PostgreSQL: held by their tests
        if kind == "column" and reflected and name in models.REVISION_ONLY_COLUMNS:
            return False  # likewise (`models.REVISION_ONLY_COLUMNS`)
        # Alembic compares indexes made on one dialect only (SQLite's medians) everywhere
        only = getattr(item, "_ddl_if", None)
        return only is None or only.dialect in (None, engine.dialect.name)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": made_here})
        found = compare_metadata(context, models.METADATA)
    engine.dispose()
    return list(found)


def test_postgresql_finds_a_window_s_returning_clients_by_their_span(db_url: str) -> None:
    """Revision 0015's GiST index is of the very expression a window's statement tests
    (`stages.span_holds`: the span as a point), which the planner matches only as written;
    SQLite has none."""
    from reactivate.db import stages

    run("init", "--db", db_url)
    if db_url.startswith("sqlite"):
        assert query(db_url, "SELECT name FROM sqlite_master WHERE name LIKE '%span%'") == []
        return
    made = query(
        db_url,
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        f" AND indexname = '{models.SPAN_INDEX}'",
    )
    assert len(made) == 1 and "USING gist (point(" in made[0][0]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(
            f"EXPLAIN SELECT client_id FROM client_stage cs WHERE {stages.span_holds('cs', 'now()')}"
        ).all()
    engine.dispose()
    assert models.SPAN_INDEX in " ".join(row[0] for row in plan)


def test_head_is_the_newest_revision() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate.config()).get_current_head() == HEAD


def test_the_revisions_build_what_the_models_describe(db_url: str) -> None:
    run("init", "--db", db_url)
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert scalar(db_url, "SELECT value FROM meta WHERE key = 'schema_version'") == "3"
    assert schema_differences(db_url) == []


def test_the_last_release_s_database_is_stamped_and_reports_the_same(tmp_path: Path) -> None:
    db = legacy_database(tmp_path / "legacy.db")
    same_figures(reports(db), timeless(LEGACY_REPORTS))
    assert scalar(db, "SELECT version_num FROM alembic_version") == HEAD
    assert schema_differences(f"sqlite:///{db}") == []


def test_a_version_1_database_is_upgraded_and_reports_the_same(tmp_path: Path) -> None:
    db = legacy_database(tmp_path / "legacy.db")
    conn = sqlite3.connect(db)
    # what version 2 added, and what early version-1 databases lacked, taken away
    for days in ("called", "reached", "wecom", "pushed", "converted"):
        conn.execute(f"DROP INDEX ix_client_stage_{days}_days")
        conn.execute(f"ALTER TABLE client_stage DROP COLUMN {days}_days")
    conn.execute("ALTER TABLE client_stage DROP COLUMN stages_reached")
    conn.execute("ALTER TABLE client_stage DROP COLUMN skipped_stage")
    conn.execute("DROP INDEX ix_event_campaign_source")
    conn.execute("DROP TABLE wecom_transfer")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    out = said("db", "upgrade", "--db", db)
    assert "upgraded from schema version 1 (before revisions)" in out
    assert f"schema revision {HEAD}" in out
    same_figures(reports(db), timeless(LEGACY_REPORTS))
    assert schema_differences(f"sqlite:///{db}") == []
    assert "is already at schema revision" in said("db", "upgrade", "--db", db)


def test_a_release_s_schema_made_without_revisions_is_stamped(db_url: str) -> None:
    engine = create_engine(db_url)
    baseline.SCHEMA.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    engine.dispose()
    done = json.loads(run("db", "upgrade", "--db", db_url, "-f", "json"))
    assert done == {"before": None, "after": HEAD, "legacy_version": 2, "roles_applied": False}
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert schema_differences(db_url) == []


def test_a_database_a_newer_release_upgraded_is_refused(db_url: str) -> None:
    assert "created at schema revision" in said("db", "upgrade", "--db", db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    err = run("campaign", "list", "--db", db_url, code=1)
    assert err.count("Error:") == 1 and err.startswith("Error: "), err
    line = " ".join(err.split())
    assert "is at schema revision 0099" in line and f"(revision {HEAD})" in line
    assert "newer release" in said("db", "upgrade", "--db", db_url, code=1)


def test_a_server_older_than_the_schema_needs_is_refused_before_anything_is_made(
    db_url: str,
) -> None:
    """PostgreSQL before 14 has no multiranges (revision 0012): an upgrade says so in a
    sentence, before it makes a single table."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite is part of Python: no older server to refuse")
    engine = create_engine(db_url)
    with engine.connect():  # the dialect learns the server's version on first connect
        pass
    engine.dialect.server_version_info = (13, 11)
    with pytest.raises(DatabaseError) as refused:
        migrate.upgrade(engine)
    assert "runs PostgreSQL 13.11; reactivate needs PostgreSQL 14 or newer" in str(refused.value)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    engine.dispose()


def test_opening_a_current_database_does_not_import_alembic(tmp_path: Path) -> None:
    db = str(tmp_path / "current.db")
    run("init", "--db", db)
    code = (
        "import sys; from reactivate.db.engine import open_engine; "
        f"open_engine({db!r}).dispose(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_two_first_opens_at_once_create_the_schema_once(db_url: str) -> None:
    code = "import sys; from reactivate.db.engine import open_engine; open_engine(sys.argv[1])"
    opening = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for process in opening:
        _, err = process.communicate()
        assert process.returncode == 0, err
    assert query(db_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_revision_0009_fills_the_last_times_from_the_events(db_url: str) -> None:
    """A database from before revision 0009 gets each client's latest unvoided WeCom add,
    push and conversion in its summary: what a rebuild writes."""
    from report_campaign import registered

    from reactivate.db.engine import open_engine

    registered(db_url, seed=5, n=90)
    latest = "SELECT client_id, " + ", ".join(models.LAST_TIMES) + " FROM client_stage"
    rebuilt = sorted(query(db_url, latest))
    # the data has clients with a later add, push or conversion than their first
    firsts = "SELECT COUNT(*) FROM client_stage WHERE wecom_at < last_wecom_at"
    assert int(scalar(db_url, firsts)) > 0
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for name in models.LAST_TIMES:
            conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {name}")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0007'")
    engine.dispose()
    open_engine(db_url).dispose()  # upgraded
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert sorted(query(db_url, latest)) == rebuilt


def test_revision_0012_fills_the_later_call_times_from_the_events(db_url: str) -> None:
    """A PostgreSQL database from before revision 0012 gets each client's later call times
    in its summary (`stages.LATER_CALLS`): what a rebuild writes; and loses the index of
    the calls that nothing reads now. SQLite gets neither column."""
    from report_campaign import registered

    from reactivate.db import stages
    from reactivate.db.engine import open_engine

    registered(db_url, seed=5, n=90)
    if db_url.startswith("sqlite"):
        columns = [row[1] for row in query(db_url, "PRAGMA table_info(client_stage)")]
        assert not set(stages.LATER_CALLS) & set(columns)
        return
    later = f"SELECT client_id, {', '.join(stages.LATER_CALLS)} FROM client_stage"
    rebuilt = sorted(map(str, query(db_url, later)))
    # the data has clients called at several times, some of them answered again
    assert int(scalar(db_url, "SELECT COUNT(*) FROM client_stage WHERE later_reached IS NOT NULL"))
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for name in stages.LATER_CALLS:
            conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {name}")
        conn.exec_driver_sql(
            "CREATE INDEX ix_event_call_times ON event (campaign_id, client_id, occurred_at)"
            " INCLUDE (id, value) WHERE stage = 'call'"
        )
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0011'")
    engine.dispose()
    open_engine(db_url).dispose()  # upgraded
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert sorted(map(str, query(db_url, later))) == rebuilt
    gone = "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = '{}'"
    assert query(db_url, gone.format("ix_event_call_times")) == []


def test_revision_0014_keeps_only_the_void_events_in_their_index(db_url: str) -> None:
    """A database from before revision 0014, whose `ix_event_voids` held every event, gets
    it holding the void events alone (`voids_event_id IS NOT NULL`); a look for the voids of
    an event, as every unvoided read writes it, still reads that index on both databases."""
    from report_campaign import registered

    from reactivate.db.engine import open_engine

    registered(db_url, seed=5, n=90)
    sqlite = db_url.startswith("sqlite")
    definition = (
        "SELECT sql FROM sqlite_master WHERE name = 'ix_event_voids'"
        if sqlite
        else "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND indexname = 'ix_event_voids'"
    )
    assert "voids_event_id IS NOT NULL" in scalar(db_url, definition)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_event_voids")
        conn.exec_driver_sql("CREATE INDEX ix_event_voids ON event (voids_event_id)")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0012'")
        assert "NOT NULL" not in conn.exec_driver_sql(definition).scalar_one()
    engine.dispose()
    open_engine(db_url).dispose()  # upgraded
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert "voids_event_id IS NOT NULL" in scalar(db_url, definition)
    voided = int(scalar(db_url, "SELECT COUNT(*) FROM event WHERE voids_event_id IS NOT NULL"))
    assert voided > 0  # the data voids some of its events
    unvoided = (
        "SELECT e.id FROM event e WHERE e.stage = 'call'"
        " AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
    )
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if sqlite:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {unvoided}").all()
            steps = " ".join(str(row[-1]) for row in plan)
        else:
            # the planner's choice on a few rows is a scan: what matters is that it may
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            steps = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {unvoided}"))
        count = len(conn.exec_driver_sql(unvoided).all())
    engine.dispose()
    assert "ix_event_voids" in steps, steps
    calls = "SELECT COUNT(*) FROM event WHERE stage = 'call' AND id NOT IN"
    assert count == int(
        scalar(db_url, f"{calls} (SELECT voids_event_id FROM event WHERE voids_event_id > 0)")
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_revision_0015_builds_the_span_index_as_points_and_finds_the_same_clients(
    db_url: str,
) -> None:
    """A database at revision 0014, whose span index is SP-GiST over the spans, gets the
    GiST index of them as points (sorted when built); the clients whose span holds a
    moment are the same through either, the moment a span's first or last instant, or a
    microsecond outside it, included (`stages.span_holds` tests the points alone: their
    microseconds must be exact)."""
    from report_campaign import registered

    from reactivate.db import stages
    from reactivate.db.engine import open_engine
    from reactivate.db.migrations.versions import rev_0010_window_reads_pg as r10

    registered(db_url, seed=5, n=90)
    definition = (
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        f" AND indexname = '{models.SPAN_INDEX}'"
    )
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {models.SPAN_INDEX}")
        conn.exec_driver_sql(
            f"CREATE INDEX {models.SPAN_INDEX} ON client_stage USING spgist ({r10.SPAN})"
            f" WHERE {r10.SPAN} IS NOT NULL"
        )
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0014'")
    engine.dispose()
    open_engine(db_url).dispose()  # upgraded
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD
    assert "USING gist (point(" in scalar(db_url, definition)
    bounds = "SELECT lower(s), upper(s) FROM (SELECT {} AS s FROM client_stage cs) x"
    ends = query(db_url, bounds.format(r10.SPAN) + " WHERE s IS NOT NULL")
    assert ends
    moments = {end for pair in ends[:20] for end in pair}
    step = "INTERVAL '1 microsecond'"
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        for moment in moments:
            for at in (
                "%(m)s",
                f"CAST(%(m)s AS TIMESTAMPTZ) - {step}",
                f"CAST(%(m)s AS TIMESTAMPTZ) + {step}",
            ):
                picked = "SELECT client_id FROM client_stage cs WHERE {} ORDER BY 1"
                exact = conn.exec_driver_sql(
                    picked.format(f"{r10.SPAN} @> CAST({at} AS TIMESTAMPTZ)"),
                    {"m": moment},
                ).all()
                found = conn.exec_driver_sql(
                    picked.format(stages.span_holds("cs", at)), {"m": moment}
                ).all()
                assert found == exact, (moment, at)
        plan = conn.exec_driver_sql(
            "EXPLAIN SELECT client_id FROM client_stage cs WHERE "
            + stages.span_holds("cs", "%(m)s"),
            {"m": min(moments)},
        ).all()
    engine.dispose()
    assert models.SPAN_INDEX in " ".join(row[0] for row in plan)
