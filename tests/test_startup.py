"""What a command costs before it does anything, and what it does on a first run.

Speed itself is measured by benchmarks/bench_startup.py; these tests hold what the speed
rests on: the read commands import none of the libraries they do not use (polars, the
spreadsheet libraries, pydantic, SQLAlchemy's ORM, Alembic, httpx, PostgreSQL's dialect on
SQLite), Typer's option conversion is spared pydantic without changing a value or a
message, and polars cannot keep SIGINT though it is no longer imported up front. And a
command that only reads refuses a database path with no database instead of creating one.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from helpers import CAMPAIGN_FILE
from report_campaign import SLUG, generate, insert
from typer.main import get_command
from typer.testing import CliRunner

from reactivate import registry
from reactivate.cli import app
from reactivate.db.engine import open_engine, open_reader

#: What a read command must not import: each costs a noticeable part of a second.
UNUSED = (
    "polars",
    "pyarrow",
    "fastexcel",
    "python_calamine",
    "openpyxl",
    "xlsxwriter",
    "adbc_driver_sqlite",
    "httpx",
    "pydantic",
    "sqlmodel",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "alembic",
    "PIL",
)

#: Commands that only read, as a user types them (the database is added).
READS = (
    ("report", "-c", SLUG),
    ("report", "-c", SLUG, "--by", "advisor", "--format", "json"),
    ("report", "-c", SLUG, "--by", "cohort", "--since", "2020-07-01"),
    ("report", "-c", SLUG, "--by", "week"),
    ("campaign", "list"),
    ("campaign", "show", SLUG),
    ("client", "show", "0003000007", "-c", SLUG),  # one of generate(3)'s clients
    ("followups", "-c", SLUG),
    ("imports", "list"),
    ("advisors", "list"),
)


@pytest.fixture(scope="module")
def campaign_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("startup") / "campaign.db"
    engine = open_engine(str(path))
    registry.register(engine, CAMPAIGN_FILE)
    insert(engine, registry.get(engine, SLUG).id, generate(3, n=40))
    engine.dispose()
    return str(path)


def _imported(argv: list[str], unused: tuple[str, ...] = UNUSED) -> tuple[int, list[str]]:
    """Run the command line in a fresh interpreter, as `reactivate` starts; its exit code
    and which of `unused` it imported."""
    code = (
        "import sys\n"
        f"sys.argv = ['reactivate', *{argv!r}]\n"
        "from reactivate.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "    code = 0\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        f"found = [m for m in {unused!r} if m in sys.modules]\n"
        "print(__import__('json').dumps([code, found]), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    exit_code, found = json.loads(done.stderr.strip().splitlines()[-1])
    return exit_code, found


@pytest.mark.parametrize("argv", READS, ids=" ".join)
def test_a_read_command_imports_only_what_it_uses(argv: tuple[str, ...], campaign_db: str) -> None:
    code, found = _imported([*argv, "--db", campaign_db])
    assert code == 0
    assert found == []


@pytest.mark.parametrize("argv", [a for a in READS if a[0] == "report"], ids=" ".join)
def test_a_report_on_sqlite_imports_no_sqlalchemy(argv: tuple[str, ...], campaign_db: str) -> None:
    """A current SQLite database is read through Python's sqlite3 (`db.reads`)."""
    code, found = _imported([*argv, "--db", campaign_db], unused=("sqlalchemy",))
    assert code == 0
    assert found == []


#: Report options covering each kind of query a report runs: tallies, a window's clients
#: (bound times), medians, attempts, the dropped list.
REPORT_FORMS = (
    {},
    {"by": "advisor"},
    {"by": "week"},
    {"by": "attempt"},
    {"by": "branch", "since": dt.date(2020, 7, 2), "until": dt.date(2020, 7, 20)},
    {"dropped": "called", "since": dt.date(2020, 7, 3)},
)


@pytest.mark.parametrize("form", REPORT_FORMS, ids=lambda form: " ".join(map(str, form.values())))
def test_a_report_through_sqlite3_equals_the_report_through_sqlalchemy(
    form: dict[str, Any], campaign_db: str
) -> None:
    from reactivate.db.reads import SQLiteEngine
    from reactivate.render.report import to_json
    from reactivate.report import ReportOptions, build_report

    options = ReportOptions(**form, as_of=dt.datetime(2020, 8, 1, tzinfo=dt.UTC))
    reader = open_reader(campaign_db)
    assert isinstance(reader, SQLiteEngine)
    through_sqlite3 = to_json(build_report(reader, SLUG, options))
    engine = open_engine(campaign_db, create=False)
    assert to_json(build_report(engine, SLUG, options)) == through_sqlite3
    engine.dispose()
    assert json.loads(through_sqlite3)["assigned"] > 0


def test_a_reader_takes_no_write_lock(campaign_db: str) -> None:
    """A report reads a snapshot while another connection holds the write lock."""
    import sqlite3

    writer = sqlite3.connect(campaign_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE advisor SET name = name || '!'")
    try:
        reader = open_reader(campaign_db)
        with reader.connect() as conn:
            conn.execute("PRAGMA busy_timeout=0")  # a wait for the lock would fail at once
            names = [row.name for row in conn.execute("SELECT name FROM advisor")]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert names and not any(name.endswith("!") for name in names)


def test_the_readers_rows_read_as_sqlalchemys(campaign_db: str) -> None:
    with open_reader(campaign_db).connect() as conn:
        rows = conn.execute(
            "SELECT slug AS k, id, :when AS bound FROM campaign",
            {"when": dt.datetime(2020, 7, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))},
        )
        row = rows.one()
        assert (row.k, row._mapping["k"], tuple(row)[0]) == (SLUG, SLUG, SLUG)
        assert row.bound == "2020-07-01 01:00:00.000000"  # as models.UTCDateTime stores it
        with pytest.raises(AttributeError):
            _ = row.missing
        assert conn.execute("SELECT id FROM campaign WHERE id < 0").first() is None
        with pytest.raises(LookupError):
            conn.execute("SELECT id FROM campaign WHERE id < 0").one()


def test_an_older_schema_is_left_to_open_engine_to_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    from contextlib import closing

    from reactivate.db import engine as engine_module

    path = tmp_path / "old.db"
    open_engine(str(path)).dispose()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0002'")
    opened: list[tuple[str, bool]] = []

    def upgraded(db: str, *, create: bool) -> str:
        opened.append((db, create))
        return "upgraded"

    monkeypatch.setattr(engine_module, "open_engine", upgraded)
    assert open_reader(str(path)) == "upgraded"
    assert opened == [(str(path), False)]


def test_opening_a_missing_database_imports_nothing_heavy_either(tmp_path: Path) -> None:
    code, found = _imported(["report", "-c", SLUG, "--db", str(tmp_path / "typo.db")])
    assert code == 1
    assert found == []


def _options() -> list[Any]:
    found: list[Any] = []

    def walk(group: Any) -> None:
        for command in group.commands.values():
            if hasattr(command, "commands"):
                walk(command)
            else:
                found.extend(command.params)

    walk(get_command(app))
    return found


#: Values typed on a command line, good and bad, for each kind of option we have.
SAMPLES: dict[str, tuple[Any, ...]] = {
    "str": ("A0012", "", "0021792650", " 张伟 "),
    "int": ("7", "-3", "+12", "007", "1.5", "seven", "1_000", " 8 ", 5),
    "bool": (True, False),
    "Path": ("out/demo", "a.xlsx", "-", Path("out/demo")),
    "enum": ("table", "json", "JSON", "advisor", "nonsense", ""),
}


def _kind(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, __import__("enum").Enum):
        return "enum"
    return getattr(annotation, "__name__", str(annotation))


def test_our_option_conversion_gives_typers_values_and_messages() -> None:
    from typer import _coercion

    from reactivate.cli.coercion import install

    install()  # done when reactivate.cli is imported; a second call changes nothing
    direct = checked = 0
    for param in _options():
        ours = param.get_runtime_param()
        if type(ours).__name__ != "DirectParam":
            continue
        direct += 1
        typers = _coercion.build_runtime_param(param.type_descriptor)
        annotation = param.type_descriptor.annotation
        values = SAMPLES.get(_kind(annotation), ())
        if getattr(annotation, "__origin__", None) is list:
            values = (("a.xlsx", "b.xlsx"), ("x",))
        for value in values:
            checked += 1
            assert _outcome(ours, value, param) == _outcome(typers, value, param), (
                param.name,
                value,
            )
    assert direct >= 50 and checked >= 150


def test_option_defaults_need_no_pydantic() -> None:
    """A default (a `Path`, an enum member, a number) is converted too when the option is
    not given: it must not be what sends every run to Typer's pydantic converter."""
    from typer import _param_types

    from reactivate.cli.coercion import _direct

    defaults = 0
    for param in _options():
        if type(param.get_runtime_param()).__name__ != "DirectParam" or param.default is None:
            continue
        defaults += 1
        _direct(param.type_descriptor, param.default, param, None, _param_types)
    assert defaults >= 30


def _outcome(runtime: Any, value: Any, param: Any) -> tuple[str, Any]:
    try:
        result = runtime.coerce(value, param=param, ctx=None)
    except Exception as exc:  # the message the user would read
        return type(exc).__name__, str(getattr(exc, "message", exc))
    return type(result).__name__, result


def test_polars_imported_after_the_handlers_leaves_sigint_with_us() -> None:
    """polars installs a C-level SIGINT handler as it loads; `interrupts` puts ours back as
    the import completes (Python's `signal.getsignal` would not see the difference)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the C-level handler through Linux's sigaction")
    code = (
        "import ctypes, signal, sys\n"
        "libc = ctypes.CDLL(None)\n"
        "def handler():\n"
        "    buf = ctypes.create_string_buffer(256)\n"
        "    libc.sigaction(signal.SIGINT, None, buf)\n"
        "    return ctypes.c_void_p.from_buffer(buf).value\n"
        "from reactivate.db import interrupts\n"
        "interrupts.install()\n"
        "ours = handler()\n"
        "import polars\n"
        "print(handler() == ours, signal.getsignal(signal.SIGINT) is interrupts._interrupt)\n"
        "interrupts.finish()\n"
        "import importlib; importlib.reload(polars)\n"
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert done == ["True", "True", "True"]


@pytest.mark.parametrize("signalled", [False, True])
def test_a_finalizer_failing_after_an_interrupt_is_not_told(signalled: bool) -> None:
    """A finalizer's error is Python's "Exception ignored in" traceback on stderr; once
    an interrupt came, it is what the interrupt cut short failing to close, and the
    command's own line is all the user sees. Without an interrupt it is still told."""
    code = (
        "import os, signal\n"
        "from reactivate.db import interrupts\n"
        "interrupts.install()\n"
        "def read():\n"
        "    try:\n"
        "        yield 1\n"
        "    finally:\n"
        "        raise RuntimeError('This Connection is closed')\n"
        "rows = read()\n"
        "next(rows)\n"
        f"if {signalled}:\n"
        "    try:\n"
        "        with interrupts.command():\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "    except interrupts.Interrupted:\n"
        "        print('interrupted')\n"
        "del rows\n"
        "interrupts.finish()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("interrupted\n" if signalled else "")
    if signalled:
        assert done.stderr == ""
    else:
        assert "Exception ignored in" in done.stderr and "Connection is closed" in done.stderr


def test_version_is_the_installed_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"reactivate {version('reactivate')}"


MISSING_DB = (
    ("report", "-c", SLUG),
    ("client", "show", "C0001", "-c", SLUG),
    ("assignments", "export", "-c", SLUG, "-f", "csv"),
    ("followups", "-c", SLUG),
    ("campaign", "list"),
    ("advisors", "list"),
    ("db", "backup", "copy.db"),
)


@pytest.mark.parametrize("argv", MISSING_DB, ids=" ".join)
def test_a_command_that_reads_refuses_a_path_with_no_database(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    typo = tmp_path / "campain.db"
    result = CliRunner().invoke(app, [*argv, "--db", str(typo)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: No database at {typo}; `reactivate init` creates")
    assert list(tmp_path.iterdir()) == []


def test_the_refusal_is_in_chinese_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTIVATE_LANG", "zh")
    result = CliRunner().invoke(app, ["report", "-c", SLUG, "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "没有数据库" in result.output and "reactivate init" in result.output


def test_an_empty_database_is_refused_and_left_empty(db_url: str) -> None:
    """An empty SQLite file or PostgreSQL schema is no database of ours: refused, and not
    given a schema by a command that only reads."""
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch(mode=0o600)
    result = CliRunner().invoke(app, ["campaign", "list", "--db", db_url])
    assert result.exit_code == 1, result.output
    assert "No database at" in result.output
    assert CliRunner().invoke(app, ["campaign", "list", "--db", db_url]).exit_code == 1


@pytest.mark.parametrize("argv", [("init",), ("campaign", "add", str(CAMPAIGN_FILE))])
def test_init_and_campaign_add_create_the_database(argv: tuple[str, ...], tmp_path: Path) -> None:
    db = str(tmp_path / "new.db")
    assert CliRunner().invoke(app, [*argv, "--db", db]).exit_code == 0
    result = CliRunner().invoke(app, ["campaign", "list", "--db", db])
    assert result.exit_code == 0, result.output


def test_a_run_builds_only_the_command_it_names() -> None:
    from reactivate.cli import _for_the_command_given

    def names(built: Any) -> list[str]:
        return sorted(get_command(built).commands)  # type: ignore[attr-defined]

    assert names(_for_the_command_given(["report", "-c", SLUG])) == ["report"]
    assert names(_for_the_command_given(["campaign", "list"])) == ["campaign"]
    everything = names(app)
    assert len(everything) > 15
    for argv in ([], ["--help"], ["--version"], ["repor", "-c", SLUG]):
        assert names(_for_the_command_given(argv)) == everything
    assert len(app.registered_commands) + len(app.registered_groups) == len(everything)


def test_opening_a_current_database_is_one_query(campaign_db: str) -> None:
    """No schema inspection on every run: besides the connection's own settings (PRAGMAs),
    opening a current database reads its revision, and nothing else."""
    code = (
        "import sqlite3.dbapi2 as dbapi\n"
        "connect = dbapi.connect\n"
        "said = []\n"
        "def traced(*args, **kwargs):\n"
        "    conn = connect(*args, **kwargs)\n"
        "    conn.set_trace_callback(said.append)\n"
        "    return conn\n"
        "dbapi.connect = traced\n"
        "from reactivate.db.engine import open_engine\n"
        f"open_engine({campaign_db!r}, create=False)\n"
        "print(__import__('json').dumps(said))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    said = json.loads(done.stdout)
    assert [s for s in said if not s.startswith("PRAGMA")] == [
        "SELECT version_num FROM alembic_version"
    ]


def test_a_small_upload_imports_no_tables_module(db_url: str, tmp_path: Path) -> None:
    """An upload naming a few of a campaign's clients (the summary refreshed row by row)
    reads and writes by text SQL: the tables' module (`db.models`, about 0.02 s to import)
    is not imported, and what it writes is what the upload of that sheet writes."""
    from upload_campaign import FULL, make_workbook, scalar, setup_db, stage_of

    db = setup_db(db_url, tmp_path)
    one = {"0010000001": FULL["0010000001"]}  # one client of seven members
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", one, clients=list(one))
    argv = ["results", "upload", str(book), "-c", SLUG, "--db", db]
    code, found = _imported(argv, unused=("reactivate.db.models",))
    assert code == 0
    assert found == []
    assert scalar(db, "SELECT COUNT(*) FROM event WHERE source = 'upload'") == 6
    assert scalar(db, "SELECT status FROM import_record WHERE kind = 'results'") == "applied"
    assert stage_of(db, "0010000001").converted_at is not None


def test_the_summarys_columns_spelled_out_are_the_tables() -> None:
    """`stages.SUMMARY_COLUMNS`, which the per-client refresh on SQLite assigns, names
    every column of `client_stage` (a column added to the table and not there would keep
    a client's old value)."""
    from reactivate.db import stages
    from reactivate.db.models import CLIENT_STAGES

    assert sorted(stages.SUMMARY_COLUMNS) == sorted(c.name for c in CLIENT_STAGES.columns)
    assert stages.SUMMARY_KEY == tuple(c.name for c in CLIENT_STAGES.primary_key)
