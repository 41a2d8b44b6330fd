"""`reactivate load`: dormant accounts from a core-system export into a campaign.

Validation comes first, over every row; only then does the campaign's dormancy rule
select who joins. Writing is one transaction: stage the clean rows in a temporary
table (driver's fastest path), then upsert clients and add members with INSERT ... SELECT.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from reactivate import registry
from reactivate.campaign import Dormancy
from reactivate.clock import utcnow
from reactivate.db import bulk
from reactivate.db.models import Advisor, CampaignRecord, DoNotCall, Member
from reactivate.errors import Rejection, StateError
from reactivate.imports import record
from reactivate.messages import t
from reactivate.roster import BranchResolver
from reactivate.sheets import values
from reactivate.sheets.fields import ACCOUNT_FIELDS
from reactivate.sheets.read import Table, is_label_row, open_table, parse_mapping, sha256_of
from reactivate.sheets.rejects import write_rejects
from reactivate.validate import RowCleaner, errors_json, remembered

MEMBERS = Member.__table__  # type: ignore[attr-defined]
CAMPAIGNS = CampaignRecord.__table__  # type: ignore[attr-defined]
ADVISORS = Advisor.__table__  # type: ignore[attr-defined]
DNC = DoNotCall.__table__  # type: ignore[attr-defined]

#: Account statuses that never join a campaign.
CLOSED_STATUSES = frozenset({"冻结", "销户", "注销", "frozen", "closed", "dormant-closed"})

#: The fields compared to tell a repeated row from a conflicting one, in record order.
KNOWN_FIELDS = (
    "client_id",
    "name",
    "mobile",
    "branch",
    "branch_code",
    "assets",
    "last_trade_date",
    "risk",
    "opened_at",
    "previous_advisor",
    "status",
)
_PARSERS = (
    values.client_id,
    values.text,
    values.mobile,
    values.text,
    values.text,
    values.amount,
    values.date,
    values.risk,
    values.date,
    values.text,
    values.text,
)
# Fields that repeat a few thousand spellings down a file: parsed once per spelling.
_REPEATING = frozenset(
    {"branch", "branch_code", "last_trade_date", "risk", "opened_at", "previous_advisor", "status"}
)
_ASCII_DIGITS = frozenset("0123456789")
#: Rows between progress updates.
PROGRESS_STEP = 10_000


@dataclass
class LoadOptions:
    sheet: str | None = None
    mapping: Sequence[str] = ()
    skip_invalid: bool = False
    dry_run: bool = False
    allow_overlap: bool = False
    rejects_path: Path | None = None


@dataclass
class LoadSummary:
    """What a load did. rows = loaded + updated + unchanged + excluded + rejected + duplicates."""

    file: str
    campaign: str
    rows: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    excluded: int = 0
    rejected: int = 0
    duplicates: int = 0
    applied: bool = False
    dry_run: bool = False
    import_id: int | None = None
    excluded_reasons: dict[str, int] = field(default_factory=dict)
    unknown_branches: dict[str, int] = field(default_factory=dict)
    overlap: int = 0
    dnc_members: int = 0
    rejects_path: str | None = None
    errors: list[Rejection] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Rejected rows and no --skip-invalid: nothing was written."""
        return bool(self.errors) and not self.applied and not self.dry_run

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "loaded": self.loaded,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "excluded": self.excluded,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
        }

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.counts()
        data["errors"] = errors_json(self.errors)
        data["excluded_reasons"] = self.excluded_reasons
        data["unknown_branches"] = self.unknown_branches
        data["overlap"] = self.overlap
        data["dnc_members"] = self.dnc_members
        data["import_id"] = self.import_id
        data["rejects_file"] = self.rejects_path
        return data


Progress = Callable[[int], None]


def load_accounts(
    engine: Engine,
    slug: str,
    path: Path,
    options: LoadOptions | None = None,
    *,
    on_table: Callable[[Table], None] | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Validate every row of `path`, select the dormant, and write clients and members.

    Returns the summary; when rows were rejected and `skip_invalid` is off, nothing is
    written (`summary.refused`) and the refusal is still recorded in the import log.
    """
    with _cyclic_gc_paused():
        return _load(engine, slug, path, options or LoadOptions(), on_table, progress)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    A load allocates a million row tuples that hold no cycles; each growth in the count
    of live objects triggers a collection that walks them all and finds nothing
    (measured: 0.4-0.5 s of CPU at 1M rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(
    engine: Engine,
    slug: str,
    path: Path,
    options: LoadOptions,
    on_table: Callable[[Table], None] | None,
    progress: Progress | None,
) -> LoadSummary:
    campaign = registry.get(engine, slug)
    if campaign.status != "open":
        raise StateError(t("error.campaign_closed", slug=slug))
    table = open_table(
        path,
        ACCOUNT_FIELDS,
        sheet=options.sheet,
        mapping=parse_mapping(options.mapping, ACCOUNT_FIELDS),
    )
    if on_table:
        on_table(table)
    summary = LoadSummary(file=table.file, campaign=slug, dry_run=options.dry_run)
    records, extras = _validate(table, summary, progress)
    with engine.connect() as conn:
        context = _Context.load(conn, campaign.id)
    # Streamed into the stage: a second list of a million rows would double peak memory.
    rows_to_write = _select(records, extras, campaign.config.dormancy, context, options, summary)

    if options.dry_run:
        status = "dry_run"
    elif summary.errors and not options.skip_invalid:
        status = "refused"
    else:
        status = "applied"
    with engine.begin() as conn:
        bulk.sqlite_bulk_cache(conn)
        bulk.sqlite_temp_in_memory(conn)
        summary.updated, summary.unchanged = _stage(conn, rows_to_write)
        records.clear()
        extras.clear()
        if status != "dry_run":
            summary.import_id = record(
                conn,
                kind="accounts",
                campaign_id=campaign.id,
                path=path,
                sha256=sha256_of(path),
                rows=summary.rows,
                counts=summary.counts(),
                status=status,
            )
        if status == "applied":
            _write(conn, campaign.id, summary.import_id or 0)
            summary.applied = True
        conn.exec_driver_sql(f"DROP TABLE {STAGE_TABLE}")

    if summary.errors and options.skip_invalid and not options.dry_run:
        rejects = options.rejects_path or path.with_name(path.name + ".rejects.csv")
        reread = open_table(
            path,
            ACCOUNT_FIELDS,
            sheet=table.sheet,
            mapping=parse_mapping(options.mapping, ACCOUNT_FIELDS),
        )
        write_rejects(rejects, reread, summary.errors)
        summary.rejects_path = str(rejects)
    return summary


def _validate(
    table: Table, summary: LoadSummary, progress: Progress | None
) -> tuple[dict[str, tuple[Any, ...]], dict[str, str]]:
    """Clean every row; returns the valid records by client id, in KNOWN_FIELDS order, and
    the JSON of the extra columns by client id for those that have any (rejections go to
    the summary).

    The same id twice with the same known values counts once (the rest are duplicates);
    with different values, every row of that id is rejected.
    """
    parsers = [
        (name, remembered(parse) if name in _REPEATING else parse)
        for name, parse in zip(KNOWN_FIELDS, _PARSERS, strict=True)
    ]
    cleaner = RowCleaner(table, parsers)
    id_index = table.columns["client_id"]
    extra = sorted(table.extra.items(), key=lambda item: item[1])
    records: dict[str, tuple[Any, ...]] = {}
    extras: dict[str, str] = {}
    first_row: dict[str, int] = {}
    repeated_rows: dict[str, list[int]] = {}
    conflicted: set[str] = set()
    errors = summary.errors
    text, clean = values.text, cleaner.clean  # looked up once, not per row
    done = counted = 0
    for done, (number, cells) in enumerate(table.rows, 1):
        if progress is not None and done % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
        id_cell = cells[id_index]
        # The usual id, text starting with an ASCII digit, is data: no need to fold it here.
        if type(id_cell) is not str or id_cell[:1] not in _ASCII_DIGITS:
            id_text = text(id_cell)
            # ids start with a digit; anything else may be a total (合计) or note row
            if (id_text is None or not id_text[:1].isdigit()) and is_label_row(cells, id_index):
                continue  # a title, note or total row: not data, not counted
            if id_text is None:
                counted += 1
                errors.append(cleaner.reject(number, "client_id", t("reject.no_id")))
                continue
        counted += 1
        cleaned = clean(number, cells)
        if isinstance(cleaned, Rejection):
            errors.append(cleaned)
            continue
        client_id = cleaned[0]
        if cleaned[2] is None:
            errors.append(cleaner.reject(number, "mobile", t("reject.bad_mobile", value="")))
            continue
        if client_id in conflicted:
            errors.append(_conflict(cleaner, number, client_id, first_row[client_id], ["values"]))
            continue
        previous = records.get(client_id)
        if previous is None:
            records[client_id] = cleaned
            first_row[client_id] = number
            if extra:
                found = {
                    h: _jsonable(cells[i]) for h, i in extra if values.text(cells[i]) is not None
                }
                if found:
                    extras[client_id] = json.dumps(found, ensure_ascii=False)
        elif previous == cleaned:
            summary.duplicates += 1
            repeated_rows.setdefault(client_id, []).append(number)
        else:
            differing = [
                f for f, a, b in zip(KNOWN_FIELDS, previous, cleaned, strict=False) if a != b
            ]
            del records[client_id]
            extras.pop(client_id, None)
            conflicted.add(client_id)
            earlier = [first_row[client_id], *repeated_rows.pop(client_id, [])]
            summary.duplicates -= len(earlier) - 1
            for row in earlier:
                errors.append(_conflict(cleaner, row, client_id, number, differing))
            errors.append(_conflict(cleaner, number, client_id, earlier[0], differing))
    if progress is not None:
        progress(done % PROGRESS_STEP)
    summary.rows += counted
    errors.sort(key=lambda e: e.row)
    summary.rejected = len(errors)
    return records, extras


def _conflict(
    cleaner: RowCleaner, number: int, client_id: str, other: int, fields: list[str]
) -> Rejection:
    return cleaner.reject(
        number,
        "client_id",
        t("reject.conflict", client_id=client_id, other=other, fields=", ".join(fields)),
    )


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class _Context:
    """What the database already knows that decides who joins."""

    members: frozenset[str]
    other_open: frozenset[str]
    dnc_ids: frozenset[str]
    dnc_mobiles: frozenset[str]
    branches: BranchResolver
    advisor_codes: frozenset[str]
    advisor_by_name: dict[str, str]

    @classmethod
    def load(cls, conn: Connection, campaign_id: int) -> _Context:
        members = frozenset(
            conn.execute(
                select(MEMBERS.c.client_id).where(MEMBERS.c.campaign_id == campaign_id)
            ).scalars()
        )
        other_open = frozenset(
            conn.execute(
                select(MEMBERS.c.client_id)
                .join(CAMPAIGNS, CAMPAIGNS.c.id == MEMBERS.c.campaign_id)
                .where(MEMBERS.c.campaign_id != campaign_id, CAMPAIGNS.c.status == "open")
            ).scalars()
        )
        dnc: dict[str, set[str]] = {"client_id": set(), "mobile": set()}
        for kind, value in conn.execute(select(DNC.c.kind, DNC.c.value)):
            dnc.setdefault(kind, set()).add(value)
        codes: set[str] = set()
        names: dict[str, list[str]] = {}
        for code, name in conn.execute(select(ADVISORS.c.code, ADVISORS.c.name)):
            codes.add(code)
            names.setdefault(name, []).append(code)
        return cls(
            members=members,
            other_open=other_open,
            dnc_ids=frozenset(dnc["client_id"]),
            dnc_mobiles=frozenset(dnc["mobile"]),
            branches=BranchResolver.load(conn),
            advisor_codes=frozenset(codes),
            advisor_by_name={name: found[0] for name, found in names.items() if len(found) == 1},
        )


def _select(
    records: dict[str, tuple[Any, ...]],
    extras: dict[str, str],
    dormancy: Dormancy,
    context: _Context,
    options: LoadOptions,
    summary: LoadSummary,
) -> Iterator[tuple[Any, ...]]:
    """Apply the dormancy rule and the overlap rule; yields the rows to write, each with
    (is_member, dnc) appended, counting them into the summary as it goes (new members as
    `loaded`). Members stay members whatever their new data says."""
    excluded = summary.excluded_reasons
    # A file repeats a few hundred (branch, code) pairs; resolving one folds its text.
    resolve = functools.lru_cache(maxsize=4096)(context.branches.resolve)
    iso = _IsoDates()
    for client_id, rec in records.items():
        (
            _,
            name,
            mobile,
            branch,
            branch_code,
            assets,
            last_trade,
            risk,
            opened,
            previous,
            status,
        ) = rec
        is_member = client_id in context.members
        if not is_member:
            reason = _exclusion(dormancy, last_trade, assets, status)
            if reason is None and client_id in context.other_open:
                summary.overlap += 1
                if not options.allow_overlap:
                    reason = "overlap"
            if reason:
                excluded[reason] = excluded.get(reason, 0) + 1
                summary.excluded += 1
                continue
        canonical, known = resolve(branch, branch_code)
        if canonical and not known:
            summary.unknown_branches[canonical] = summary.unknown_branches.get(canonical, 0) + 1
        if previous and previous not in context.advisor_codes:
            previous = context.advisor_by_name.get(previous, previous)
        dnc = client_id in context.dnc_ids or mobile in context.dnc_mobiles
        summary.dnc_members += dnc and not is_member
        summary.loaded += not is_member
        yield (
            client_id,
            name,
            mobile,
            canonical,
            assets,
            iso[last_trade],
            risk,
            iso[opened],
            previous,
            status,
            extras.get(client_id),
            int(is_member),
            int(dnc),
        )


class _IsoDates(dict[dt.date | None, str | None]):
    """ISO text by date (None for None), each date formatted once.

    A file repeats a few thousand dates over a million rows, and a lookup is cheaper
    than formatting again (measured: 0.1 s of CPU at 1M rows). Past `limit` distinct
    dates the rest are formatted every time rather than held.
    """

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, day: dt.date | None) -> str | None:
        text = day.isoformat() if day is not None else None
        if len(self) < self.limit:
            self[day] = text
        return text


def _exclusion(
    dormancy: Dormancy, last_trade: dt.date | None, assets: float | None, status: str | None
) -> str | None:
    """Why a client does not qualify for the campaign, or None when they do."""
    if status and status.strip().casefold() in CLOSED_STATUSES:
        return "frozen_or_closed"
    if last_trade is not None and (dormancy.as_of - last_trade).days < dormancy.min_days:
        return "traded_recently"
    if dormancy.min_assets is not None and (assets or 0.0) < dormancy.min_assets:
        return "assets_below_range"
    if dormancy.max_assets is not None and (assets or 0.0) > dormancy.max_assets:
        return "assets_above_range"
    return None


# No key: the ids are unique already (validation keeps one record per id), and every
# statement reading the stage scans it whole, so an index would only cost its building.
_STAGE_COLUMNS = {
    "client_id": "TEXT",
    "name": "TEXT",
    "mobile": "TEXT",
    "branch": "TEXT",
    "assets": "DOUBLE PRECISION",
    "last_trade_date": "DATE",
    "risk": "INTEGER",
    "opened_at": "DATE",
    "previous_advisor": "TEXT",
    "status": "TEXT",
    "extra": "TEXT",
    "is_member": "INTEGER",
    "dnc": "INTEGER",
}
_DATA_COLUMNS = [c for c in _STAGE_COLUMNS if c not in ("client_id", "is_member", "dnc")]


STAGE_TABLE = "stage_account"


def _stage(conn: Connection, rows: Iterable[tuple[Any, ...]]) -> tuple[int, int]:
    """Stage the rows to write; returns (updated, unchanged) as writing them would give."""
    bulk.stage(conn, STAGE_TABLE, _STAGE_COLUMNS, rows)
    changed = " OR ".join(_distinct(conn, f"c.{c}", f"s.{c}") for c in _DATA_COLUMNS)
    counts = conn.exec_driver_sql(
        f"""SELECT
              SUM(CASE WHEN s.is_member = 1 AND ({changed}) THEN 1 ELSE 0 END),
              SUM(CASE WHEN s.is_member = 1 AND NOT ({changed}) THEN 1 ELSE 0 END)
            FROM {STAGE_TABLE} s JOIN client c ON c.client_id = s.client_id"""
    ).one()
    return int(counts[0] or 0), int(counts[1] or 0)


def _write(conn: Connection, campaign_id: int, import_id: int) -> None:
    """Upsert clients (only those whose data changed) and add new members, from the staged rows."""
    now = _sql_now(conn)
    assignments = ", ".join(f"{c} = excluded.{c}" for c in _DATA_COLUMNS)
    changed = " OR ".join(_distinct(conn, f"client.{c}", f"excluded.{c}") for c in _DATA_COLUMNS)
    conn.exec_driver_sql(
        f"""INSERT INTO client (client_id, {", ".join(_DATA_COLUMNS)}, updated_at)
            SELECT client_id, {", ".join(_DATA_COLUMNS)}, {now} FROM {STAGE_TABLE} WHERE true
            ON CONFLICT (client_id) DO UPDATE SET {assignments}, updated_at = excluded.updated_at
            WHERE {changed}"""
    )
    conn.exec_driver_sql(
        f"""INSERT INTO member (campaign_id, client_id, joined_at, import_id, dnc, control)
            SELECT {int(campaign_id)}, client_id, {now}, {int(import_id)}, dnc <> 0, false
            FROM {STAGE_TABLE} WHERE is_member = 0"""
    )
    conn.exec_driver_sql(
        f"""UPDATE member SET dnc = true
            WHERE campaign_id = {int(campaign_id)} AND NOT dnc
              AND client_id IN (SELECT client_id FROM {STAGE_TABLE} WHERE is_member = 1 AND dnc = 1)"""
    )


def _distinct(conn: Connection, left: str, right: str) -> str:
    operator = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    return f"({left} {operator} {right})"


def _sql_now(conn: Connection) -> str:
    """The current UTC time as a SQL literal in the form the dialect stores."""
    now = utcnow()
    if conn.dialect.name == "postgresql":
        return f"TIMESTAMPTZ '{now.isoformat()}'"
    return f"'{now.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
