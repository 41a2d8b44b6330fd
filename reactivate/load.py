"""`reactivate load`: dormant accounts from a core-system export into a campaign.

Validation comes first, over every row; only then does the campaign's dormancy rule
select who joins. Writing is one transaction: stage the clean rows in a temporary
table (driver's fastest path), then upsert clients and add members with INSERT ... SELECT.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, select

from reactivate import access, registry
from reactivate.db import bulk, dialect, stages
from reactivate.db.import_log import record
from reactivate.db.models import (
    ADVISORS,
    CAMPAIGNS,
    CLIENTS,
    DO_NOT_CALL,
    MEMBERS,
)
from reactivate.errors import ConfigError, NeedsConfirmation, Rejection
from reactivate.messages import t
from reactivate.roster import BranchResolver
from reactivate.rules.campaign import Dormancy
from reactivate.sheets import values
from reactivate.sheets import values_columns as columns
from reactivate.sheets.clean import Parser, RowCleaner, cyclic_gc_paused, errors_json, remembered
from reactivate.sheets.fields import ACCOUNT_FIELDS
from reactivate.sheets.frames import ROW, column, open_frame
from reactivate.sheets.read import Table, is_label, open_table, parse_mapping, sha256_of
from reactivate.sheets.rejects import write_rejects
from reactivate.sheets.values_columns import as_cell

if TYPE_CHECKING:
    import polars as pl


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
    values.code,
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
_DIGITS_ONLY = "^[0-9]+$"
#: Rows between progress updates.
PROGRESS_STEP = 10_000
#: New members a load may add to a campaign that has some, as a share of those it has,
#: before it asks for `confirm_new`: more than half as many again is rarely a top-up and
#: often the same clients under other ids (a doubled campaign).
MAX_UNCONFIRMED_GROWTH = 0.5


@dataclass
class LoadOptions:
    sheet: str | None = None
    mapping: Sequence[str] = ()
    skip_invalid: bool = False
    dry_run: bool = False
    allow_overlap: bool = False
    rejects_path: Path | None = None
    #: Left-pad ids of digits shorter than this with zeros, before anything else: for a
    #: file whose ids Excel saved as numbers (0021792650 became 21792650).
    pad_ids: int | None = None
    #: Add the new members even when they are more than MAX_UNCONFIRMED_GROWTH of the
    #: campaign's members.
    confirm_new: bool = False


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
    skip_invalid: bool = False
    import_id: int | None = None
    excluded_reasons: dict[str, int] = field(default_factory=dict)
    unknown_branches: dict[str, int] = field(default_factory=dict)
    overlap: int = 0
    dnc_members: int = 0
    rejects_path: str | None = None
    errors: list[Rejection] = field(default_factory=list)
    members_before: int = 0  # the campaign's members before this load
    #: The load adds more new members than MAX_UNCONFIRMED_GROWTH allows without
    #: `confirm_new` (a load refused for it raises `NeedsConfirmation`).
    needs_confirmation: bool = False

    @property
    def refused(self) -> bool:
        """Rejected rows and no --skip-invalid: nothing was (or, in a dry run, would be) written."""
        return bool(self.errors) and not self.applied and not self.skip_invalid

    def confirmation(self) -> str | None:
        """Why the load waits for `confirm_new` (user text); None when it does not."""
        if not self.needs_confirmation:
            return None
        return t(
            "error.load_needs_confirmation",
            loaded=self.loaded,
            campaign=self.campaign,
            members=self.members_before,
            limit=f"{MAX_UNCONFIRMED_GROWTH:.0%}",
        )

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
        data["members_before"] = self.members_before
        data["needs_confirmation"] = self.needs_confirmation
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
    When the rows are fine but would add more new members than MAX_UNCONFIRMED_GROWTH
    allows and `confirm_new` is off, the refusal is recorded and `NeedsConfirmation`
    raised, carrying the summary's JSON.
    """
    access.require(engine, "access.action.load")
    with cyclic_gc_paused():
        return _load(engine, slug, path, options or LoadOptions(), on_table, progress)


def _load(
    engine: Engine,
    slug: str,
    path: Path,
    options: LoadOptions,
    on_table: Callable[[Table], None] | None,
    progress: Progress | None,
) -> LoadSummary:
    campaign = registry.open_campaign(engine, slug)
    pad = options.pad_ids
    if pad is not None and not 0 < pad <= values.MAX_ID_LENGTH:
        raise ConfigError(t("error.pad_ids", width=pad, most=values.MAX_ID_LENGTH))
    table, frame = open_frame(
        path,
        ACCOUNT_FIELDS,
        sheet=options.sheet,
        mapping=parse_mapping(options.mapping, ACCOUNT_FIELDS),
    )
    if on_table:
        on_table(table)
    summary = LoadSummary(
        file=table.file,
        campaign=slug,
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
    )
    if frame is not None:
        accounts = _validate_frame(frame, table, summary, progress, pad)
    else:  # a file only the row reader reads as it is
        records, extras, rows = _validate(table, summary, progress, pad)
        accounts = _accounts_frame(records, extras, rows)
        del records, extras, rows
    del frame
    with engine.connect() as conn:
        context = _Context.load(conn, campaign.id)
        accounts = _reject_lost_zeros(conn, accounts, RowCleaner(table, _parsers()), summary)
    selected = _select(accounts, campaign.config.dormancy, context, options, summary)
    del accounts
    summary.members_before = len(context.members)
    summary.needs_confirmation = (
        summary.members_before > 0
        and summary.loaded > MAX_UNCONFIRMED_GROWTH * summary.members_before
        and not options.confirm_new
    )

    rows_refused = bool(summary.errors) and not options.skip_invalid
    if options.dry_run:
        status = "dry_run"
    elif rows_refused or summary.needs_confirmation:
        status = "refused"
    else:
        status = "applied"
    members = int(selected["is_member"].sum())
    with bulk.begin_with_frame(engine, STAGE_TABLE, _STAGE_COLUMNS, selected) as conn:
        bulk.sqlite_bulk_cache(conn)
        if members:
            summary.updated, summary.unchanged = _compare(conn)
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
            _write(conn, campaign.id, summary.import_id or 0, members)
            if summary.errors:  # before the commit: rejects that cannot be kept apply nothing
                summary.rejects_path = str(_write_load_rejects(path, table, options, summary))
            summary.applied = True
    if status == "refused" and not rows_refused:
        raise NeedsConfirmation(summary.confirmation() or "", summary.to_json())
    return summary


def _write_load_rejects(
    path: Path, table: Table, options: LoadOptions, summary: LoadSummary
) -> Path:
    """The rejected rows, copied from the file as read again by the row reader."""
    rejects = options.rejects_path or path.with_name(path.name + ".rejects.csv")
    reread = open_table(
        path,
        ACCOUNT_FIELDS,
        sheet=table.sheet,
        mapping=parse_mapping(options.mapping, ACCOUNT_FIELDS),
    )
    write_rejects(rejects, reread, summary.errors)
    return rejects


def _validate(
    table: Table, summary: LoadSummary, progress: Progress | None, pad: int | None
) -> tuple[dict[str, tuple[Any, ...]], dict[str, str], list[int]]:
    """Clean every row, one at a time; returns the valid records by client id, in
    KNOWN_FIELDS order, the JSON of the extra columns by client id for those that have
    any, and each record's row number (rejections go to the summary). Ids of digits are
    padded with zeros to `pad`, when given."""
    cleaner = RowCleaner(table, _parsers(pad))
    id_index = table.columns["client_id"]
    extra = sorted(table.extra.items(), key=lambda item: item[1])
    dedupe = _Dedupe(cleaner, summary)
    extras: dict[str, str] = {}
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
            if is_label(id_text, cells, id_index):
                continue  # a title, note or total row: not data, not counted
            if id_text is None:
                counted += 1
                errors.append(cleaner.reject(number, "client_id", t("reject.no_id")))
                continue
        counted += 1
        cleaned = clean(number, cells)
        if isinstance(cleaned, Rejection):
            errors.append(cleaned)
        elif cleaned[2] is None:
            errors.append(_no_mobile(cleaner, number))
        elif dedupe.add(number, cleaned) and extra:
            found = _extras_json((h, cells[i]) for h, i in extra)
            if found is not None:
                extras[cleaned[0]] = found
    if progress is not None:
        progress(done % PROGRESS_STEP)
    summary.rows += counted
    _finish_errors(summary)
    records = dedupe.records
    rows = [dedupe.first_row[client_id] for client_id in records]
    return records, {k: v for k, v in extras.items() if k in records}, rows


def _parsers(pad: int | None = None) -> list[tuple[str, Parser]]:
    parsers = [
        (name, remembered(parse) if name in _REPEATING else parse)
        for name, parse in zip(KNOWN_FIELDS, _PARSERS, strict=True)
    ]
    if pad is not None:
        parsers[0] = ("client_id", lambda cell: values.pad_id(values.client_id(cell), pad))
    return parsers


def _no_mobile(cleaner: RowCleaner, number: int) -> Rejection:
    return cleaner.reject(number, "mobile", t("reject.bad_mobile", value=""))


def _extras_json(cells: Iterable[tuple[str, object]]) -> str | None:
    """The non-blank extra cells as JSON (None when all are blank)."""
    found = {header: _jsonable(cell) for header, cell in cells if values.text(cell) is not None}
    return json.dumps(found, ensure_ascii=False) if found else None


def _finish_errors(summary: LoadSummary) -> None:
    summary.errors.sort(key=lambda e: e.row)
    summary.rejected = len(summary.errors)


class _Dedupe:
    """One record per client id. The same id twice with the same known values counts once
    (the rest are duplicates); with different values, every row of that id is rejected."""

    def __init__(self, cleaner: RowCleaner, summary: LoadSummary) -> None:
        self.cleaner = cleaner
        self.summary = summary
        self.records: dict[str, tuple[Any, ...]] = {}
        self.first_row: dict[str, int] = {}
        self.repeated_rows: dict[str, list[int]] = {}
        self.conflicted: set[str] = set()

    def add(self, number: int, cleaned: tuple[Any, ...]) -> bool:
        """Take row `number`'s clean values; True when it is the first row of its id."""
        client_id = cleaned[0]
        errors = self.summary.errors
        if client_id in self.conflicted:
            first = self.first_row[client_id]
            errors.append(_conflict(self.cleaner, number, client_id, first, ["values"]))
            return False
        previous = self.records.get(client_id)
        if previous is None:
            self.records[client_id] = cleaned
            self.first_row[client_id] = number
            return True
        if previous == cleaned:
            self.summary.duplicates += 1
            self.repeated_rows.setdefault(client_id, []).append(number)
            return False
        differing = [f for f, a, b in zip(KNOWN_FIELDS, previous, cleaned, strict=False) if a != b]
        del self.records[client_id]
        self.conflicted.add(client_id)
        earlier = [self.first_row[client_id], *self.repeated_rows.pop(client_id, [])]
        self.summary.duplicates -= len(earlier) - 1
        for row in earlier:
            errors.append(_conflict(self.cleaner, row, client_id, number, differing))
        errors.append(_conflict(self.cleaner, number, client_id, earlier[0], differing))
        return False


def _validate_frame(
    frame: pl.DataFrame,
    table: Table,
    summary: LoadSummary,
    progress: Progress | None,
    pad: int | None,
) -> pl.DataFrame:
    """`_validate` a column at a time, with the same outcome: the accounts to consider, one
    row per client id, in KNOWN_FIELDS' columns, `extra` (the extra cells' JSON) and ROW.

    The columns are cleaned whole (`sheets.columns`); the few rows that need a decision
    of their own (a label or total row, a bad value, no mobile, an id seen twice) are
    then judged one by one, in row order, as the row reader's loop would.
    """
    import polars as pl

    cleaner = RowCleaner(table, _parsers())
    clean: dict[str, pl.Series] = {}
    problems: list[pl.Series] = []
    for name, parse in zip(KNOWN_FIELDS, _PARSERS, strict=True):
        index = table.columns.get(name)
        if index is None:
            clean[name] = pl.Series(name, [], columns.output_type(parse)).extend_constant(
                None, frame.height
            )
            continue
        cleaned = columns.clean(frame[column(index)], parse)
        clean[name] = cleaned.values.alias(name)
        if name == "client_id" and pad is not None:
            clean[name] = columns.pad_ids(clean[name], pad)
        if cleaned.any_problem():
            problems.append(cleaned.problems.alias(name))
    ids = clean["client_id"]
    numbers = frame[ROW]
    to_judge = ids.is_null() | ~ids.str.contains("^[0-9]") | clean["mobile"].is_null()
    for problem in problems:
        to_judge = to_judge | problem.is_not_null()
    dropped: list[int] = []
    skipped = 0
    id_index = table.columns["client_id"]
    for i in to_judge.arg_true().to_list():
        number = numbers[i]
        cells = [as_cell(cell) for cell in frame.row(i)[1:]]
        id_text = values.text(cells[id_index])
        dropped.append(i)
        if is_label(id_text, cells, id_index):
            skipped += 1  # a title, note or total row: not data, not counted
        elif id_text is None:
            summary.errors.append(cleaner.reject(number, "client_id", t("reject.no_id")))
        elif bad := [p for p in problems if p[i] is not None]:
            summary.errors.append(cleaner.reject(number, bad[0].name, bad[0][i]))
        elif clean["mobile"][i] is None:
            summary.errors.append(_no_mobile(cleaner, number))
        else:
            dropped.pop()  # judged, and fine
    summary.rows += frame.height - skipped
    keep = ~pl.int_range(0, frame.height, eager=True).is_in(
        pl.Series(dropped, dtype=pl.Int64).implode()
    )
    extra = sorted(table.extra.items(), key=lambda item: item[1])
    accounts = pl.DataFrame([numbers, *clean.values(), _extras_column(frame, extra)]).filter(keep)
    accounts = _dedupe_frame(accounts, cleaner, summary)
    if progress is not None:
        progress(frame.height)
    _finish_errors(summary)
    return accounts


def _extras_column(frame: pl.DataFrame, extra: list[tuple[str, int]]) -> pl.Series:
    """The extra cells' JSON per row of `frame`, null where they are all blank."""
    import polars as pl

    json_by_row: list[str | None] = [None] * frame.height
    if extra:
        names = [column(i) for _, i in extra]
        headers = [header for header, _ in extra]
        filled = frame.select(pl.any_horizontal(pl.col(n).is_not_null() for n in names)).to_series()
        rows = frame.filter(filled).select(names).iter_rows()
        for i, cells in zip(filled.arg_true().to_list(), rows, strict=True):
            json_by_row[i] = _extras_json(zip(headers, map(as_cell, cells), strict=True))
    return pl.Series("extra", json_by_row, pl.String)


def _dedupe_frame(
    accounts: pl.DataFrame, cleaner: RowCleaner, summary: LoadSummary
) -> pl.DataFrame:
    """One row per client id, as `_Dedupe` decides for the ids seen more than once."""
    import polars as pl

    ids = accounts["client_id"]
    if len(ids) < 2 or (ids.slice(1) > ids.slice(0, len(ids) - 1)).all():
        return accounts  # ids in increasing order, as core systems export them: none repeats
    repeated = ids.is_duplicated()
    if not repeated.any():
        return accounts
    dedupe = _Dedupe(cleaner, summary)
    rows = accounts.filter(repeated)
    for number, *cleaned in rows.select(ROW, *KNOWN_FIELDS).iter_rows():
        dedupe.add(number, tuple(cleaned))
    kept = pl.Series(ROW, list(dedupe.first_row[k] for k in dedupe.records), pl.Int64)
    return accounts.filter(~repeated | pl.col(ROW).is_in(kept.implode()))


def _accounts_frame(
    records: dict[str, tuple[Any, ...]], extras: dict[str, str], numbers: list[int]
) -> pl.DataFrame:
    """The row reader's records, found at rows `numbers`, as the frame `_validate_frame`
    returns."""
    import polars as pl

    rows = list(records.values())
    data = {ROW: pl.Series(ROW, numbers, pl.Int64)}
    data |= {
        name: pl.Series(name, [row[i] for row in rows], columns.output_type(parse))
        for i, (name, parse) in enumerate(zip(KNOWN_FIELDS, _PARSERS, strict=True))
    }
    data["extra"] = pl.Series("extra", [extras.get(k) for k in records], pl.String)
    return pl.DataFrame(data)


_PADDED_TABLE = "stage_padded"


def _reject_lost_zeros(
    conn: Connection, accounts: pl.DataFrame, cleaner: RowCleaner, summary: LoadSummary
) -> pl.DataFrame:
    """`accounts` without the rows whose id, all digits and new to the database, is a
    known client's id or another id of the file short of its leading zeros; each is
    rejected with the width that mends it. Excel saves 0021792650 as the number 21792650:
    such a file would add every client a second time, under another id.

    The widths tried are those of the database's ids and the file's: an id padded to
    each longer one is looked up, so a file whose ids all keep their width costs one
    query.
    """
    import polars as pl

    ids = accounts.select(ROW, "client_id").filter(pl.col("client_id").str.contains(_DIGITS_ONLY))
    if ids.is_empty():
        return accounts
    lengths = ids["client_id"].str.len_chars()
    shortest = lengths.min()
    assert isinstance(shortest, int)
    known_widths = conn.execute(select(func.distinct(func.length(CLIENTS.c.client_id))))
    widths = sorted(
        width
        for width in set(lengths.unique().to_list()) | set(known_widths.scalars())
        if width is not None and shortest < width <= values.MAX_ID_LENGTH
    )
    if not widths:
        return accounts
    candidates = pl.concat(
        ids.filter(lengths < width).select(
            ROW, "client_id", pl.col("client_id").str.zfill(width).alias("padded"), width=width
        )
        for width in widths
    )
    bulk.stage(
        conn,
        _PADDED_TABLE,
        {"source_row": "INTEGER", "client_id": "TEXT", "padded": "TEXT", "width": "INTEGER"},
        candidates.iter_rows(),
    )
    found = conn.exec_driver_sql(
        f"""SELECT s.source_row, s.client_id, s.padded, s.width,
                   EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.padded)
            FROM {_PADDED_TABLE} s
            WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.client_id)"""
    ).all()
    conn.exec_driver_sql(f"DROP TABLE {_PADDED_TABLE}")
    in_file = set(accounts["client_id"].to_list()) if found else set()
    lost: dict[int, tuple[str, str, int]] = {}
    for number, client_id, padded, width, known in sorted(found, key=_nearest):
        if number not in lost and (known or padded in in_file):
            lost[number] = (client_id, padded, width)
    if not lost:
        return accounts
    for number, (client_id, padded, width) in lost.items():
        reason = t("reject.lost_zeros", value=client_id, client_id=padded, width=width)
        summary.errors.append(cleaner.reject(number, "client_id", reason))
    _finish_errors(summary)
    return accounts.filter(~pl.col(ROW).is_in(pl.Series(list(lost), dtype=pl.Int64).implode()))


def _nearest(found: Any) -> tuple[int, bool, int]:
    """A row's matches in the order its reason names them: a known client before another
    id of the file, then the narrower width."""
    number, _, _, width, known = found
    return number, not known, width


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
        for kind, value in conn.execute(select(DO_NOT_CALL.c.kind, DO_NOT_CALL.c.value)):
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
    accounts: pl.DataFrame,
    dormancy: Dormancy,
    context: _Context,
    options: LoadOptions,
    summary: LoadSummary,
) -> pl.DataFrame:
    """Apply the dormancy rule and the overlap rule; returns the rows to write, in the stage's
    columns, counting them into the summary (new members as `loaded`). Members stay members
    whatever their new data says."""
    import polars as pl

    client_id, status, last_trade = pl.col("client_id"), pl.col("status"), pl.col("last_trade_date")
    is_member = _one_of(client_id, context.members)
    closed = [
        text
        for text in accounts["status"].drop_nulls().unique().to_list()
        if text.strip().casefold() in CLOSED_STATUSES
    ]
    assets = pl.col("assets").fill_null(0.0)
    # The first rule a client breaks is the reason counted.
    rules = [
        (_one_of(status, closed), "frozen_or_closed"),
        (_traded_recently(last_trade, dormancy), "traded_recently"),
    ]
    if dormancy.min_assets is not None:
        rules.append((assets < dormancy.min_assets, "assets_below_range"))
    if dormancy.max_assets is not None:
        rules.append((assets > dormancy.max_assets, "assets_above_range"))
    reason = pl.lit(None, pl.String)
    for broken, why in reversed(rules):
        reason = pl.when(broken).then(pl.lit(why)).otherwise(reason)
    judged = accounts.with_columns(
        is_member.alias("is_member"),
        reason.alias("reason"),
        _one_of(client_id, context.other_open).alias("other_open"),
    )
    overlap = ~pl.col("is_member") & pl.col("reason").is_null() & pl.col("other_open")
    summary.overlap += judged.select(overlap.sum()).item()
    if not options.allow_overlap:
        judged = judged.with_columns(
            pl.when(overlap).then(pl.lit("overlap")).otherwise(pl.col("reason")).alias("reason")
        )
    excluded = judged.filter(~pl.col("is_member") & pl.col("reason").is_not_null())
    for why, count in excluded.group_by("reason").len().sort("reason").iter_rows():
        summary.excluded_reasons[why] = summary.excluded_reasons.get(why, 0) + count
        summary.excluded += count
    kept = judged.filter(pl.col("is_member") | pl.col("reason").is_null())

    kept = kept.join(
        _branches(kept, context),
        on=["branch", "branch_code"],
        how="left",
        nulls_equal=True,
        maintain_order="left",  # rows in file order go into the keyed tables fastest
    )
    unknown = kept.filter(pl.col("canonical").is_not_null() & ~pl.col("known"))
    for name, count in unknown.group_by("canonical").len().sort("canonical").iter_rows():
        summary.unknown_branches[name] = summary.unknown_branches.get(name, 0) + count
    dnc = _one_of(client_id, context.dnc_ids) | _one_of(pl.col("mobile"), context.dnc_mobiles)
    kept = kept.with_columns(dnc.fill_null(False).alias("dnc"))
    new = kept.filter(~pl.col("is_member"))
    summary.loaded += new.height
    summary.dnc_members += new.select(pl.col("dnc").sum()).item()
    return kept.select(
        "client_id",
        "name",
        "mobile",
        pl.col("canonical").alias("branch"),
        "assets",
        pl.col("last_trade_date").cast(pl.String),  # ISO text, as the stage holds dates
        "risk",
        pl.col("opened_at").cast(pl.String),
        _previous_advisor(kept["previous_advisor"], context).alias("previous_advisor"),
        "status",
        "extra",
        pl.col("is_member").cast(pl.Int64),
        pl.col("dnc").cast(pl.Int64),
    )


def _one_of(texts: pl.Expr, known: Iterable[str]) -> pl.Expr:
    """Whether each text is one of `known`."""
    import polars as pl

    return texts.is_in(pl.Series(list(known), dtype=pl.String).implode())


def _traded_recently(last_trade: pl.Expr, dormancy: Dormancy) -> pl.Expr:
    """Days from the last trade to the as-of date under the minimum (never traded: dormant)."""
    import polars as pl

    # (as_of - last).days < min_days  <=>  last > as_of - min_days
    try:
        cutoff = dormancy.as_of - dt.timedelta(days=dormancy.min_days)
    except OverflowError:  # a cutoff before year 1 or after 9999: all traded, or none
        return last_trade.is_not_null() & pl.lit(dormancy.min_days > 0)
    return last_trade.is_not_null() & (last_trade > cutoff)


def _branches(accounts: pl.DataFrame, context: _Context) -> pl.DataFrame:
    """Each (branch, code) pair of the file with its canonical name and whether it is known."""
    import polars as pl

    pairs = accounts.select("branch", "branch_code").unique().rows()
    resolved = [context.branches.resolve(branch, code) for branch, code in pairs]
    return pl.DataFrame(
        {
            "branch": [branch for branch, _ in pairs],
            "branch_code": [code for _, code in pairs],
            "canonical": [canonical for canonical, _ in resolved],
            "known": [known for _, known in resolved],
        },
        schema={
            "branch": pl.String,
            "branch_code": pl.String,
            "canonical": pl.String,
            "known": pl.Boolean,
        },
    )


def _previous_advisor(previous: pl.Series, context: _Context) -> pl.Series:
    """Previous advisors by roster code, or by name when that name is unique in the roster."""

    by_name = {
        name: context.advisor_by_name[name]
        for name in previous.drop_nulls().unique().to_list()
        if name not in context.advisor_codes and name in context.advisor_by_name
    }
    if not by_name:
        return previous
    return previous.replace(by_name)


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


def _compare(conn: Connection) -> tuple[int, int]:
    """(updated, unchanged): the staged members whose client data differs from what is
    stored, and those whose data is the same."""
    changed = " OR ".join(dialect.is_distinct(conn, f"c.{c}", f"s.{c}") for c in _DATA_COLUMNS)
    counts = conn.exec_driver_sql(
        f"""SELECT
              SUM(CASE WHEN s.is_member = 1 AND ({changed}) THEN 1 ELSE 0 END),
              SUM(CASE WHEN s.is_member = 1 AND NOT ({changed}) THEN 1 ELSE 0 END)
            FROM {STAGE_TABLE} s JOIN client c ON c.client_id = s.client_id"""
    ).one()
    return int(counts[0] or 0), int(counts[1] or 0)


def _write(conn: Connection, campaign_id: int, import_id: int, members: int) -> None:
    """Upsert clients (only those whose data changed) and add new members, from the staged
    rows; flag do-not-call on the `members` staged who were members already."""
    now = dialect.now_literal(conn)
    assignments = ", ".join(f"{c} = excluded.{c}" for c in _DATA_COLUMNS)
    changed = " OR ".join(
        dialect.is_distinct(conn, f"client.{c}", f"excluded.{c}") for c in _DATA_COLUMNS
    )
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
    if members:
        conn.exec_driver_sql(
            f"""UPDATE member SET dnc = true
                WHERE campaign_id = {int(campaign_id)} AND NOT dnc
                  AND client_id IN (SELECT client_id FROM {STAGE_TABLE} WHERE is_member = 1 AND dnc = 1)"""
        )
    # every member has its summary row from the start, so that the report counts what
    # the load counted (the do-not-call members above all, whom no assignment touches)
    stages.refresh_selected(
        conn, campaign_id, f"SELECT client_id FROM {STAGE_TABLE} WHERE is_member = 0 OR dnc = 1", {}
    )
