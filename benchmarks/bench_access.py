"""What row-level security costs a report on a shared PostgreSQL, by role.

    REACTIVATE_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_access.py --clients 200000

Builds, in a schema of its own on that server, a campaign of `--clients` assigned
members over 500 advisors in 50 branches, each called once (generated in SQL), then
`reactivate access init` with group roles of a unique prefix and three logins: a manager
of one branch, an advisor, an analyst. Times `build_report` (overall and --by branch) as
the schema's owner (no policies apply), the analyst (every row, through policies), the
manager (one branch of 50) and the advisor (one of 500); then the refresh an upload of
every client of the advisor ends with (summary and tallies of those clients) as the owner
(`stages.refresh`) and as the advisor (the database's refresh function, `access.refresh_own`),
each rolled back. Each the median of three runs,
wall clock and this process's CPU, with the load average beside it, since the machine may
be shared. Drops the schema and the roles afterwards. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if TYPE_CHECKING:
    from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "2020h2-dormant.toml"
SLUG = "2020h2-dormant"


def _url(base: str, user: str | None, schema: str) -> str:
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    if user is not None:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://{user}@{rest.split('@', 1)[1]}"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def build(owner: str, clients: int) -> None:
    from sqlalchemy import text

    from reactivate import registry
    from reactivate.db import stages
    from reactivate.db.engine import open_engine

    engine = open_engine(owner)
    registry.register(engine, CAMPAIGN_FILE)
    cid = registry.get(engine, SLUG).id
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO branch (name, code) SELECT 'branch ' || b, lpad(b::text, 4, '0')"
                " FROM generate_series(1, 50) b"
            )
        )
        conn.execute(
            text(
                "INSERT INTO advisor (code, name, branch, active, updated_at)"
                " SELECT 'A' || lpad(a::text, 4, '0'), 'advisor ' || a,"
                " 'branch ' || (1 + a % 50), true, now() FROM generate_series(1, 500) a"
            )
        )
        conn.execute(
            text(
                "INSERT INTO client (client_id, name, mobile, branch, updated_at)"
                " SELECT lpad(c::text, 10, '0'), 'name ' || c, '138' || lpad(c::text, 8, '0'),"
                " 'branch ' || (1 + (1 + c % 500) % 50), now() FROM generate_series(1, :n) c"
            ),
            {"n": clients},
        )
        conn.execute(
            text(
                "INSERT INTO member (campaign_id, client_id, joined_at, dnc, control, advisor_code,"
                " assigned_at) SELECT :cid, lpad(c::text, 10, '0'), now(), false, false,"
                " 'A' || lpad((1 + c % 500)::text, 4, '0'), timestamptz '2020-07-01 01:00+00'"
                " FROM generate_series(1, :n) c"
            ),
            {"cid": cid, "n": clients},
        )
        conn.execute(
            text(
                "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at,"
                " advisor_code, source, recorded_by, recorded_at)"
                " SELECT campaign_id, client_id, 'call',"
                " (ARRAY['connected', 'no_answer', 'busy'])[1 + hashtext(client_id) % 3 + 0],"
                " assigned_at + interval '1 day', advisor_code, 'upload', 'bench', now()"
                " FROM member"
            )
        )
        stages.refresh(conn, cid)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed(url: str, by: str | None, runs: int = 3) -> tuple[float, float]:
    from reactivate.db.engine import open_engine
    from reactivate.report import ReportOptions, build_report

    walls, cpus = [], []
    for _ in range(runs):
        engine = open_engine(url)
        wall, cpu = time.perf_counter(), time.process_time()
        build_report(engine, SLUG, ReportOptions(by=by))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        engine.dispose()
    return statistics.median(walls), statistics.median(cpus)


def timed_refresh(url: str, advisor: str, *, own: bool, runs: int = 3) -> tuple[float, float, int]:
    """(wall, CPU, clients) of refreshing every client of `advisor`, rolled back: by the
    refresh function (`own`, as the advisor) or by `stages.refresh` (as the owner)."""
    from sqlalchemy import text

    from reactivate import access
    from reactivate.db import stages
    from reactivate.db.engine import open_engine

    walls, cpus = [], []
    engine = open_engine(url)
    clients: list[str] = []
    for _ in range(runs):
        with engine.connect() as conn:
            cid = int(conn.execute(text("SELECT id FROM campaign")).scalar_one())
            clients = list(
                conn.execute(
                    text("SELECT client_id FROM member WHERE advisor_code = :a"), {"a": advisor}
                ).scalars()
            )
            wall, cpu = time.perf_counter(), time.process_time()
            if own:
                assert access.refresh_own(conn, cid, functools.partial(list, clients))
            else:
                stages.refresh(conn, cid, clients)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            conn.rollback()
    engine.dispose()
    return statistics.median(walls), statistics.median(cpus), len(clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="Keep the schema and roles (to look).")
    args = parser.parse_args()
    base = os.environ.get("REACTIVATE_TEST_PG_URL")
    if not base:
        sys.exit("Set REACTIVATE_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test).")
    from sqlalchemy import create_engine

    from reactivate import access
    from reactivate.db.engine import open_engine

    tag = uuid.uuid4().hex[:10]
    schema, prefix = f"bench_access_{tag}", f"rxb{tag}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    logins = {"manager": f"{prefix}_mgr", "advisor": f"{prefix}_adv", "analyst": f"{prefix}_ana"}
    owner = _url(base, None, schema)
    try:
        started = time.perf_counter()
        build(owner, args.clients)
        print(f"built {args.clients:,} members in {time.perf_counter() - started:.1f} s")
        engine = open_engine(owner)
        access.init(engine, prefix)
        access.grant(engine, logins["manager"], "manager", branches=["branch 1"])
        access.grant(engine, logins["advisor"], "advisor", advisor="A0001")
        access.grant(engine, logins["analyst"], "analyst")
        engine.dispose()
        callers = {"owner (no policies)": owner} | {
            role: _url(base, login, schema) for role, login in logins.items()
        }
        for by in (None, "branch"):
            for who, url in callers.items():
                wall, cpu = timed(url, by)
                load = os.getloadavg()[0]
                print(
                    f"report{' --by ' + by if by else '':12} {who:20} wall {wall:6.3f} s"
                    f"  cpu {cpu:6.3f} s  load {load:.2f}"
                )
        for who, url, own in (
            ("owner (stages.refresh)", owner, False),
            ("advisor (function)", callers["advisor"], True),
        ):
            wall, cpu, n = timed_refresh(url, "A0001", own=own)
            print(
                f"refresh of {n} clients {who:26} wall {wall:6.3f} s  cpu {cpu:6.3f} s"
                f"  load {os.getloadavg()[0]:.2f}"
            )
    finally:
        if args.keep:
            print(f"kept: schema {schema}, roles {prefix}_*")
        else:
            _drop(admin, schema, [*logins.values(), *(f"{prefix}_{role}" for role in access.ROLES)])
        admin.dispose()


def _drop(admin: Engine, schema: str, roles: list[str]) -> None:
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        for name in roles:
            if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'").first():
                conn.exec_driver_sql(f'DROP OWNED BY "{name}" CASCADE')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')


if __name__ == "__main__":
    main()
