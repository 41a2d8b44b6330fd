"""The advisor roster and branch names: load advisors, settle branch spellings.

Branches are matched by code when a file has one, else by name with spaces and
full-width characters normalised, else through an alias ops registered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update

from reactivate import access
from reactivate.clock import utcnow
from reactivate.db import bulk
from reactivate.db.import_log import record
from reactivate.db.models import (
    ADVISORS,
    BRANCH_ALIASES,
    BRANCHES,
    CLIENTS,
)
from reactivate.errors import ConfigError, Rejection, RowsRejected
from reactivate.messages import t
from reactivate.sheets import values
from reactivate.sheets.clean import RowCleaner
from reactivate.sheets.fields import ROSTER_FIELDS
from reactivate.sheets.read import Table, fold_header, open_table, sha256_of
from reactivate.summary import Counted, count_field


def branch_key(name: str) -> str:
    """How branch names compare: full-width folded, spaces dropped, case ignored."""
    return fold_header(name)


@dataclass(frozen=True)
class BranchResolver:
    """Canonical branch names by code, by normalised name and by alias."""

    by_code: Mapping[str, str]
    by_key: Mapping[str, str]

    @classmethod
    def load(cls, conn: Connection) -> BranchResolver:
        by_code: dict[str, str] = {}
        by_key: dict[str, str] = {}
        for name, code in conn.execute(select(BRANCHES.c.name, BRANCHES.c.code)):
            by_key[branch_key(name)] = name
            if code:
                by_code[code] = name
        for alias_key, name in conn.execute(
            select(BRANCH_ALIASES.c.alias_key, BRANCH_ALIASES.c.branch_name)
        ):
            by_key.setdefault(alias_key, name)
        return cls(by_code, by_key)

    def resolve(self, name: str | None, code: str | None) -> tuple[str | None, bool]:
        """(canonical name, known): unknown names come back trimmed, flagged unknown."""
        if code and code in self.by_code:
            return self.by_code[code], True
        if not name:
            return None, False
        canonical = self.by_key.get(branch_key(name))
        return (canonical, True) if canonical else (name, False)


@dataclass
class RosterSummary(Counted):
    file: str
    rows: int = count_field()
    added: int = count_field()
    updated: int = count_field()
    unchanged: int = count_field()
    active: int = count_field()
    inactive: int = count_field()
    branches: int = count_field()
    import_id: int | None = None
    errors: list[Rejection] = field(default_factory=list)


# an advisor as the roster file gives it, after cleaning:
# (code, name, branch, branch code, WeCom userid, capacity, active)
_Advisor = tuple[Any, ...]


def load_roster(
    engine: Engine, path: Path, *, sheet: str | None = None, dry_run: bool = False
) -> RosterSummary:
    """Load (or reload) advisors from a roster file. All rows valid, or nothing is written."""
    access.require(engine, "access.action.roster")
    summary, advisors = _read_roster(path, sheet)
    now = utcnow()
    with engine.begin() as conn:
        branch_rows, advisor_rows = _roster_rows(conn, advisors, summary, now)
        summary.branches = len(branch_rows)
        if not dry_run:
            bulk.upsert(
                conn, BRANCHES, [{"name": n, "code": c} for n, c in branch_rows.items()], ["name"]
            )
            bulk.upsert(conn, ADVISORS, advisor_rows, ["code"])
            summary.import_id = record(
                conn,
                kind="roster",
                campaign_id=None,
                path=path,
                sha256=sha256_of(path),
                rows=summary.rows,
                counts=summary.counts(),
                status="applied",
            )
    return summary


def _read_roster(path: Path, sheet: str | None) -> tuple[RosterSummary, dict[str, _Advisor]]:
    """The file's advisors by code (blank rows skipped); raises if any row is invalid."""
    table = open_table(path, ROSTER_FIELDS, sheet=sheet)
    cleaner = RowCleaner(
        table,
        [
            ("code", values.code),
            ("name", values.text),
            ("branch", values.text),
            ("branch_code", values.code),
            ("wecom_userid", values.text),
            ("capacity", values.integer),
            ("status", values.active),
        ],
    )
    summary = RosterSummary(file=table.file)
    advisors: dict[str, _Advisor] = {}
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        if values.text(cells[table.columns["code"]]) is None and not any(
            values.text(c) for c in cells
        ):
            continue
        summary.rows += 1
        cleaned = cleaner.clean(number, cells)
        if isinstance(cleaned, Rejection):
            summary.errors.append(cleaned)
            continue
        code = cleaned[0]
        problem = _roster_problem(table, cleaned)
        if problem:
            summary.errors.append(cleaner.reject(number, *problem))
            continue
        if code in advisors and advisors[code] != cleaned:
            summary.errors.append(
                cleaner.reject(
                    number,
                    "code",
                    t("reject.conflict", client_id=code, other=first_row[code], fields="values"),
                )
            )
            continue
        first_row.setdefault(code, number)
        advisors[code] = cleaned
    if summary.errors:
        raise RowsRejected(
            t("error.rows_rejected", count=len(summary.errors), first=summary.errors[0]),
            summary.errors,
        )
    return summary, advisors


def _roster_problem(table: Table, advisor: _Advisor) -> tuple[str, str] | None:
    """(column, reason) of the first rule a cleaned roster row breaks, or None."""
    code, name, branch, _, _, capacity, _ = advisor
    if not code:
        return "code", t("reject.required", field=table.header_of("code"))
    if not name:
        return "name", t("reject.required", field=table.header_of("name"))
    if not branch:
        return "branch", t("reject.required", field=table.header_of("branch"))
    if capacity is not None and capacity < 0:
        return "capacity", t("reject.bad_int", value=capacity)
    return None


def _roster_rows(
    conn: Connection, advisors: Mapping[str, _Advisor], summary: RosterSummary, now: dt.datetime
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """The branch rows (name -> code) and advisor rows to upsert, branches under their
    canonical names; counts added, updated, unchanged, active and inactive advisors."""
    existing = {
        row.code: (row.name, row.branch, row.wecom_userid, row.capacity, row.active)
        for row in conn.execute(select(ADVISORS))
    }
    branch_codes = {
        name: code for name, code in conn.execute(select(BRANCHES.c.name, BRANCHES.c.code))
    }
    resolver = BranchResolver.load(conn)
    branch_rows: dict[str, str | None] = {}
    advisor_rows = []
    for code, name, branch, branch_code, userid, capacity, active in advisors.values():
        resolved, known = resolver.resolve(branch, branch_code)
        canonical: str = resolved if known and resolved else branch
        branch_rows[canonical] = (
            branch_code or branch_rows.get(canonical) or branch_codes.get(canonical)
        )
        is_active = True if active is None else active
        current = (name, canonical, userid, capacity, is_active)
        before = existing.get(code)
        if before is None:
            summary.added += 1
        elif before != current:
            summary.updated += 1
        else:
            summary.unchanged += 1
        summary.active += is_active
        summary.inactive += not is_active
        advisor_rows.append(
            {
                "code": code,
                "name": name,
                "branch": canonical,
                "wecom_userid": userid,
                "capacity": capacity,
                "active": is_active,
                "updated_at": now,
            }
        )
    return branch_rows, advisor_rows


def add_alias(engine: Engine, alias: str, canonical: str) -> int:
    """Make `alias` mean roster branch `canonical`; move clients filed under the alias. Returns moved."""
    access.require(engine, "access.action.roster")
    with engine.begin() as conn:
        known = conn.execute(select(BRANCHES.c.name).where(BRANCHES.c.name == canonical)).first()
        if known is None:
            names = ", ".join(
                conn.execute(select(BRANCHES.c.name).order_by(BRANCHES.c.name)).scalars()
            )
            raise ConfigError(t("error.branch_unknown", name=canonical, known=names or "none"))
        key = branch_key(alias)
        bulk.upsert(
            conn, BRANCH_ALIASES, [{"alias_key": key, "branch_name": canonical}], ["alias_key"]
        )
        spellings = [
            name
            for name in conn.execute(select(CLIENTS.c.branch).distinct()).scalars()
            if name and name != canonical and branch_key(name) == key
        ]
        if not spellings:
            return 0
        result = conn.execute(
            update(CLIENTS).where(CLIENTS.c.branch.in_(spellings)).values(branch=canonical)
        )
        return int(result.rowcount)


def add_aliases_from_file(engine: Engine, path: Path) -> list[tuple[str, str, int]]:
    """Aliases from a two-column file (alias, canonical branch); returns (alias, canonical, moved)."""
    from reactivate.sheets.fields import BRANCH_ALIAS_FIELDS

    table = open_table(path, BRANCH_ALIAS_FIELDS)
    done = []
    for _number, cells in table.rows:
        alias = values.text(cells[table.columns["alias"]])
        canonical = values.text(cells[table.columns["branch"]])
        if alias and canonical:
            done.append((alias, canonical, add_alias(engine, alias, canonical)))
    return done


def branch_overview(engine: Engine) -> list[dict[str, Any]]:
    """Branches with their code, advisors and aliases."""
    with engine.connect() as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                select(ADVISORS.c.branch, func.count())
                .where(ADVISORS.c.active)
                .group_by(ADVISORS.c.branch)
            ).all()
        )
        aliases: dict[str, list[str]] = {}
        for key, name in conn.execute(
            select(BRANCH_ALIASES.c.alias_key, BRANCH_ALIASES.c.branch_name)
        ):
            aliases.setdefault(name, []).append(key)
        return [
            {
                "branch": name,
                "code": code,
                "active_advisors": counts.get(name, 0),
                "aliases": sorted(aliases.get(name, [])),
            }
            for name, code in conn.execute(
                select(BRANCHES.c.name, BRANCHES.c.code).order_by(BRANCHES.c.name)
            )
        ]


def advisor_overview(engine: Engine) -> list[dict[str, Any]]:
    """Every advisor on the roster, by branch then code."""
    with engine.connect() as conn:
        return [
            {
                "code": row.code,
                "name": row.name,
                "branch": row.branch,
                "wecom_userid": row.wecom_userid,
                "capacity": row.capacity,
                "active": bool(row.active),
            }
            for row in conn.execute(select(ADVISORS).order_by(ADVISORS.c.branch, ADVISORS.c.code))
        ]


def campaign_advisors(conn: Connection, campaign_id: int) -> dict[str, str | None]:
    """Active advisors holding assigned clients in the campaign -> their WeCom userid."""
    rows = conn.execute(
        text(
            """SELECT a.code, a.wecom_userid FROM advisor a
               WHERE a.active AND EXISTS (
                 SELECT 1 FROM member m WHERE m.campaign_id = :cid AND m.advisor_code = a.code)
               ORDER BY a.code"""
        ),
        {"cid": campaign_id},
    )
    return {code: (userid or "").strip() or None for code, userid in rows}
