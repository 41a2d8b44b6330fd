"""`reactivate load`: dormant accounts from a core-system export into a campaign.

Each file's clean rows are selected by the campaign's dormancy rule and staged in a
temporary table (driver's fastest path) as soon as the file is read; the dedupe across
every file then takes out the rows it drops, and only after every row is validated are
clients upserted and members added with INSERT ... SELECT, in the one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Engine, Select, func, select

from reactivate import access, registry
from reactivate.clock import utcnow
from reactivate.db import bulk, dialect, scratch, stages
from reactivate.db.import_log import record
from reactivate.db.models import (
    ADVISORS,
    CAMPAIGNS,
    CLIENTS,
    DO_NOT_CALL,
    MEMBERS,
)
from reactivate.errors import ConfigError, InputError, NeedsConfirmation, Rejection
from reactivate.messages import t
from reactivate.roster import BranchResolver
from reactivate.rules.campaign import Dormancy
from reactivate.sheets import values
from reactivate.sheets import values_columns as columns
from reactivate.sheets.clean import Parser, RowCleaner, cyclic_gc_paused, errors_json, remembered
from reactivate.sheets.fields import ACCOUNT_FIELDS
from reactivate.sheets.frames import ROW, column, open_each_frames
from reactivate.sheets.read import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    Table,
    is_label,
    open_table,
    parse_mapping,
    sha256_of,
)
from reactivate.sheets.rejects import write_rejects
from reactivate.sheets.values_columns import as_cell
from reactivate.summary import Counted, count_field

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
#: Rows of a file read and cleaned at a time (`LoadOptions.batch_rows`): a million rows of
#: raw text cells take about 1 GB, their cleaned columns about half as much.
BATCH_ROWS = 1_000_000
#: A row's key across the files of one load: the file's place in the load times this,
#: plus the row's number in its file (a sheet has at most 1,048,576 rows, a CSV file's
#: numbers stay far below 2**32).
FILE_STRIDE = 1 << 32
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
    #: Rows read and cleaned at a time: a file's raw cells are never in memory all at once.
    batch_rows: int = BATCH_ROWS


@dataclass
class LoadSummary(Counted):
    """What a load did. rows = loaded + updated + unchanged + excluded + rejected + duplicates."""

    file: str
    campaign: str
    rows: int = count_field()
    loaded: int = count_field()
    updated: int = count_field()
    unchanged: int = count_field()
    excluded: int = count_field()
    rejected: int = count_field()
    duplicates: int = count_field()
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
    files: list[str] = field(default_factory=list)  # every file read, in load order
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
        data["files"] = self.files
        data["needs_confirmation"] = self.needs_confirmation
        return data


Progress = Callable[[int], None]


def load_accounts(
    engine: Engine,
    slug: str,
    path: Path | Sequence[Path],
    options: LoadOptions | None = None,
    *,
    on_table: Callable[[Table], None] | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Validate every row of `path` (a file, a folder, or several of either: one load, one
    dedupe across all their rows), select the dormant, and write clients and members.

    Returns the summary; when rows were rejected and `skip_invalid` is off, nothing is
    written (`summary.refused`) and the refusal is still recorded in the import log.
    When the rows are fine but would add more new members than MAX_UNCONFIRMED_GROWTH
    allows and `confirm_new` is off, the refusal is recorded and `NeedsConfirmation`
    raised, carrying the summary's JSON.
    """
    access.require(engine, "access.action.load")
    paths = [path] if isinstance(path, Path | str) else list(path)
    with cyclic_gc_paused():
        return _load(engine, slug, paths, options or LoadOptions(), on_table, progress)


def input_files(paths: Sequence[Path]) -> list[Path]:
    """The files a load reads: each file given, and the spreadsheets of each folder given
    (by name, not its subfolders; not hidden files, Excel's `~$` lock files or reject
    files a load wrote there), each file once."""
    found: list[Path] = []
    for given in paths:
        given = Path(given)
        if not given.is_dir():
            found.append(given)
            continue
        inside = sorted(
            entry
            for entry in given.iterdir()
            if entry.is_file()
            and entry.suffix.lower() in EXCEL_SUFFIXES | CSV_SUFFIXES
            and not entry.name.startswith((".", "~$"))
            and not entry.name.endswith(REJECTS_SUFFIX)
        )
        if not inside:
            raise InputError(t("error.folder_empty", folder=given))
        found.extend(inside)
    unique: dict[Path, Path] = {}
    for file in found:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


#: What a load names its reject file, after the file's own name.
REJECTS_SUFFIX = ".rejects.csv"


class _Sources:
    """The files of one load: row keys (`FILE_STRIDE`) back to a file and its row."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.cleaners: list[RowCleaner] = []
        self.rows: list[int] = []

    def add(self, path: Path, table: Table) -> int:
        self.paths.append(path)
        self.cleaners.append(RowCleaner(table, _parsers()))
        self.rows.append(0)
        return len(self.paths) - 1

    def reject(self, key: int, field: str | None, reason: str) -> Rejection:
        return self.cleaners[key // FILE_STRIDE].reject(key % FILE_STRIDE, field, reason)

    def conflict(self, key: int, client_id: str, other: int, fields: list[str]) -> Rejection:
        """Row `key` rejected because row `other` has the same id with other values."""
        row = other % FILE_STRIDE
        fields_text = ", ".join(fields)
        if key // FILE_STRIDE == other // FILE_STRIDE:
            reason = t("reject.conflict", client_id=client_id, other=row, fields=fields_text)
        else:
            file = self.cleaners[other // FILE_STRIDE].table.file
            reason = t(
                "reject.conflict_in_file",
                client_id=client_id,
                other=row,
                file=file,
                fields=fields_text,
            )
        return self.reject(key, "client_id", reason)

    def order(self, error: Rejection) -> tuple[int, int]:
        """Where a rejection sorts: by file in load order, then by row."""
        files = {cleaner.table.file: i for i, cleaner in enumerate(self.cleaners)}
        return files.get(error.file, 0), error.row


def _load(
    engine: Engine,
    slug: str,
    paths: Sequence[Path],
    options: LoadOptions,
    on_table: Callable[[Table], None] | None,
    progress: Progress | None,
) -> LoadSummary:
    campaign = registry.open_campaign(engine, slug)
    pad = options.pad_ids
    if pad is not None and not 0 < pad <= values.MAX_ID_LENGTH:
        raise ConfigError(t("error.pad_ids", width=pad, most=values.MAX_ID_LENGTH))
    files = input_files(paths)
    summary = LoadSummary(
        file=", ".join(str(file) for file in files),
        campaign=slug,
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
    )
    scratch.sweep()
    digests = _digests_beside(files)
    with scratch.folder() as folder:
        return _load_spilled(
            engine, campaign, files, digests, options, summary, folder, on_table, progress
        )


def _digests_beside(files: Sequence[Path]) -> dict[Path, Future[str]]:
    """Each file's SHA-256 (its import record's), worked out in file order on a thread
    beside the read, on the other core: hashing lets go of the GIL, and a 10M-row CSV
    takes 4.6 s of it. A daemon thread: an interrupted load exits without waiting for it."""
    digests: dict[Path, Future[str]] = {file: Future() for file in files}

    def hash_each() -> None:
        for file, digest in digests.items():
            try:
                digest.set_result(sha256_of(file))
            except Exception as error:  # raised where the record asks for it
                digest.set_exception(error)

    threading.Thread(target=hash_each, name="sha256", daemon=True).start()
    return digests


def _load_spilled(
    engine: Engine,
    campaign: registry.Registered,
    files: Sequence[Path],
    digests: Mapping[Path, Future[str]],
    options: LoadOptions,
    summary: LoadSummary,
    folder: Path,
    on_table: Callable[[Table], None] | None,
    progress: Progress | None,
) -> LoadSummary:
    """The load, its cleaned rows kept in `folder` (`_Spill`) between the passes."""

    sources = _Sources()
    spill = _Spill(folder)
    mapping = parse_mapping(options.mapping, ACCOUNT_FIELDS)
    with engine.connect() as conn:
        context = _Context.load(conn, campaign.id)
    #: each spilled batch's counts, members and new members' kinds as `_select` found
    #: them, in spill order
    parts: list[_Part] = []
    dropped: list[int] = []

    def counted(batch: pl.DataFrame) -> tuple[pl.DataFrame, _Part]:
        """`batch`'s rows `_select` chooses, and what it counted of them (and members)."""
        part = LoadSummary(file="", campaign="")
        chosen = _select(batch, campaign.config.dormancy, context, options, part)
        kinds = _new_member_kinds(chosen, campaign.config.asset_edges)
        return chosen, _Part(part, int(chosen["is_member"].sum()), kinds)

    def selected(batch: pl.DataFrame) -> pl.DataFrame:
        chosen, part = counted(batch)
        parts.append(part)
        if engine.dialect.name == "postgresql":
            spill.add_members(chosen.filter(chosen["is_member"] == 0).select(_MEMBER_FIELDS))
        return chosen

    def staged() -> Iterator[pl.DataFrame]:
        """Each file's rows, selected and staged as soon as the file is read, while the
        workbooks after it are parsed ahead (`open_each_frames`); the dedupe across every
        file and the lost zeros' check after it tell which staged rows to take out."""
        nonlocal dropped
        opened = open_each_frames(
            files,
            ACCOUNT_FIELDS,
            sheet=options.sheet,
            mapping=mapping,
            batch_rows=options.batch_rows,
        )
        with contextlib.closing(opened):  # the workbooks parsed ahead: none left parsing after
            for file, table, batches in opened:
                first = spill.mark()
                _read_file(
                    file, table, batches, options, sources, summary, spill, on_table, progress
                )
                for index in range(first, spill.mark()):
                    yield selected(spill.batch(index))
        summary.files = [cleaner.table.file for cleaner in sources.cleaners]
        summary.file = ", ".join(summary.files)
        ids.append(spill.ids())
        rising.append(_rising(ids[0]["client_id"]))
        dropped = _dedupe(ids[0], spill, sources, summary)
        _finish_errors(summary, sources)

    ids: list[pl.DataFrame] = []
    rising: list[bool] = []  # whether the staged rows are in id order (the files' ids rise)
    # the rows are staged file by file before the transaction's first statement
    with bulk.begin_with_frames(engine, STAGE_TABLE, _STAGE_COLUMNS, staged()) as conn:
        # (in the transaction: on SQLite another connection would wait for its lock)
        dropped += _reject_lost_zeros(conn, _without(ids.pop(), dropped), sources, summary)
        if dropped:
            _unstage(conn, dropped, spill, parts, counted)
        members = 0
        for part in parts:
            _add_counts(summary, part.counts)
            members += part.members
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
        bulk.sqlite_bulk_cache(conn)
        bulk.postgresql_work_mem(conn)
        if conn.dialect.name == "postgresql":
            # no other load adds or changes a client from here to the commit, so that the
            # plain INSERT, the skipped UPDATE and the new members' keys in `_write` stay
            # exact (readers go on); nor is the campaign removed (none ever is)
            conn.exec_driver_sql("LOCK TABLE client IN SHARE ROW EXCLUSIVE MODE")
            conn.exec_driver_sql(
                f"SELECT 1 FROM campaign WHERE id = {int(campaign.id)} FOR KEY SHARE"
            )
        compared = _compare(conn, summary.loaded + members)
        summary.updated, summary.unchanged = compared.updated, compared.unchanged
        import_ids: list[int] = []
        if status != "dry_run":
            # one record per file, each with the load's counts and its own rows
            import_ids = [
                record(
                    conn,
                    kind="accounts",
                    campaign_id=campaign.id,
                    path=file,
                    sha256=digests[file].result(),
                    rows=rows,
                    counts=summary.counts(),
                    status=status,
                )
                for file, rows in zip(sources.paths, sources.rows, strict=True)
            ]
            summary.import_id = import_ids[0]
        if status == "applied":
            kinds = _sum_kinds([part.kinds for part in parts])
            _write(
                conn,
                campaign.id,
                import_ids,
                members,
                summary.loaded,
                compared,
                kinds,
                in_id_order=rising[0],
                member_rows=spill.members(dropped) if spill.member_files else None,
            )
            if summary.errors:  # before the commit: rejects that cannot be kept apply nothing
                written = _write_load_rejects(sources, options, summary)
                summary.rejects_path = ", ".join(str(path) for path in written)
            summary.applied = True
    if status == "refused" and not rows_refused:
        raise NeedsConfirmation(summary.confirmation() or "", summary.to_json())
    return summary


def _write_load_rejects(
    sources: _Sources, options: LoadOptions, summary: LoadSummary
) -> list[Path]:
    """Each file's rejected rows, copied from the file as read again by the row reader, into
    a reject file of its own: beside it, or in the folder `rejects_path` names when the
    load reads several files (the file itself when it reads one)."""
    written = []
    several = len(sources.paths) > 1
    for path, cleaner in zip(sources.paths, sources.cleaners, strict=True):
        errors = [error for error in summary.errors if error.file == cleaner.table.file]
        if not errors:
            continue
        rejects = path.with_name(path.name + REJECTS_SUFFIX)
        if options.rejects_path is not None and several:
            options.rejects_path.mkdir(parents=True, exist_ok=True)
            rejects = options.rejects_path / rejects.name
        elif options.rejects_path is not None:
            rejects = options.rejects_path
        reread = open_table(
            path,
            ACCOUNT_FIELDS,
            sheet=cleaner.table.sheet,
            mapping=parse_mapping(options.mapping, ACCOUNT_FIELDS),
        )
        write_rejects(rejects, reread, errors)
        written.append(rejects)
    return written


def _read_file(
    path: Path,
    table: Table,
    batches: Iterator[pl.DataFrame] | None,
    options: LoadOptions,
    sources: _Sources,
    summary: LoadSummary,
    spill: _Spill,
    on_table: Callable[[Table], None] | None,
    progress: Progress | None,
) -> None:
    """One file's valid rows (`open_frames`' table and batches), cleaned a batch at a time
    into `spill` (`_validate_frame`'s columns, ROW holding each row's key across the load);
    its rejections go to the summary."""
    import polars as pl

    mapping = parse_mapping(options.mapping, ACCOUNT_FIELDS)
    if on_table:
        on_table(table)
    index = sources.add(path, table)
    offset = index * FILE_STRIDE
    rows_before, errors_before, spilled = summary.rows, len(summary.errors), spill.mark()
    if batches is not None:
        try:
            for batch in batches:
                valid = _validate_frame(batch, table, summary, progress, options.pad_ids)
                spill.add(valid.with_columns(pl.col(ROW) + offset))
        except pl.exceptions.PolarsError:
            # a line further down that polars cannot split as the row reader does: this
            # file is read again, by the row reader, from the start
            del summary.errors[errors_before:]
            summary.rows = rows_before
            spill.back_to(spilled)
            batches = None
            table = open_table(path, ACCOUNT_FIELDS, sheet=options.sheet, mapping=mapping)
    if batches is None:  # a file only the row reader reads as it is
        valid = _validate(table, summary, progress, options.pad_ids)
        spill.add(valid.with_columns(pl.col(ROW) + offset))
    sources.rows[index] = summary.rows - rows_before


def _unstage(
    conn: Connection,
    dropped: list[int],
    spill: _Spill,
    parts: list[_Part],
    counted: Callable[[pl.DataFrame], tuple[pl.DataFrame, _Part]],
) -> None:
    """Take the rows `dropped` (their keys) out of the stage, and count again each batch
    they were in without them (`parts`, in spill order)."""
    import polars as pl

    keys = pl.Series(ROW, dropped, pl.Int64).implode()
    bulk.stage(conn, _DROPPED_TABLE, {"source_row": "BIGINT"}, ((key,) for key in dropped))
    conn.exec_driver_sql(
        f"DELETE FROM {STAGE_TABLE} WHERE source_row IN (SELECT source_row FROM {_DROPPED_TABLE})"
    )
    conn.exec_driver_sql(f"DROP TABLE {_DROPPED_TABLE}")
    for index in range(len(parts)):
        # the batch's keys alone are read first: only a batch holding a dropped row is read whole
        if not spill.batch_ids(index).select(pl.col(ROW).is_in(keys).any()).item():
            continue
        kept = spill.batch(index).filter(~pl.col(ROW).is_in(keys))
        parts[index] = counted(kept)[1]


_DROPPED_TABLE = "stage_dropped"


class _Part(NamedTuple):
    """What `_select` found in one spilled batch."""

    counts: LoadSummary
    members: int  # rows of members already
    kinds: pl.DataFrame  # new members by kind (`stages.NEW_MEMBER_KINDS`)


def _new_member_kinds(chosen: pl.DataFrame, edges: Sequence[float]) -> pl.DataFrame:
    """`_select`'s new members counted by what tells them apart in the tallies (their
    branch, risk, asset band and do-not-call flag): polars groups a batch's rows while
    they are in memory, where the database grouped the whole stage again (2.5 s at 10M
    rows, benchmarks/README.md)."""
    import polars as pl

    return (
        chosen.lazy()
        .filter(pl.col("is_member") == 0)
        .group_by(
            "dnc",
            "branch",
            "risk",
            stages.asset_band_expr(pl.col("assets"), edges).alias("asset_band"),
        )
        .len("sign")
        .collect()
    )


def _sum_kinds(kinds: Sequence[pl.DataFrame]) -> pl.DataFrame:
    import polars as pl

    keys = [name for name in stages.NEW_MEMBER_KINDS if name != "sign"]
    if not kinds:
        types = {"dnc": pl.Int64, "branch": pl.String, "risk": pl.Int64, "asset_band": pl.String}
        return pl.DataFrame(schema={**types, "sign": pl.Int64})
    return (
        pl.concat(kinds).group_by(keys).agg(pl.col("sign").sum()).select(*stages.NEW_MEMBER_KINDS)
    )


def _add_counts(summary: LoadSummary, part: LoadSummary) -> None:
    """Add what `_select` counted into `part` to `summary`."""
    summary.loaded += part.loaded
    summary.excluded += part.excluded
    summary.overlap += part.overlap
    summary.dnc_members += part.dnc_members
    for counts, more in (
        (summary.excluded_reasons, part.excluded_reasons),
        (summary.unknown_branches, part.unknown_branches),
    ):
        for key, count in more.items():
            counts[key] = counts.get(key, 0) + count


class _Spill:
    """The cleaned rows of a load, a batch per Arrow file in a scratch folder: a load of
    10M rows holds one batch's columns at a time while it reads, and the keys and ids that
    the dedupe across every file needs only once every file is read (read back then: held
    from the first file on, they were 0.35 GB at 10M rows while the last workbooks were
    parsed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        #: on PostgreSQL, each batch's new members, as `_select` chose them
        self.member_files: list[Path] = []

    def add(self, batch: pl.DataFrame) -> None:
        path = self.folder / f"batch-{len(self.files):05d}.arrow"
        batch.write_ipc(path, compression="uncompressed")
        self.files.append(path)

    def mark(self) -> int:
        return len(self.files)

    def back_to(self, mark: int) -> None:
        """Forget the batches added since `mark`."""
        for path in self.files[mark:]:
            path.unlink()
        del self.files[mark:]

    def ids(self) -> pl.DataFrame:
        """ROW and client_id of every row, in load order."""
        import polars as pl

        if not self.files:
            return pl.DataFrame(schema={ROW: pl.Int64, "client_id": pl.String})
        return pl.concat(self.batch_ids(index) for index in range(len(self.files)))

    def batch_ids(self, index: int) -> pl.DataFrame:
        """ROW and client_id of one batch's rows."""
        import polars as pl

        return pl.read_ipc(self.files[index], columns=[ROW, "client_id"])

    def rows(self, keys: pl.Series) -> pl.DataFrame:
        """The whole rows whose ROW is one of `keys`, in key order."""
        import polars as pl

        found = [pl.read_ipc(path).filter(pl.col(ROW).is_in(keys.implode())) for path in self.files]
        return pl.concat(found).sort(ROW)

    def batch(self, index: int) -> pl.DataFrame:
        import polars as pl

        return pl.read_ipc(self.files[index])

    def add_members(self, rows: pl.DataFrame) -> None:
        """Keep a batch's new members (`_MEMBER_FIELDS`) for `members`."""
        path = self.folder / f"members-{len(self.member_files):05d}.arrow"
        rows.write_ipc(path, compression="uncompressed")
        self.member_files.append(path)

    def members(self, dropped: list[int]) -> Iterator[pl.DataFrame]:
        """The new members kept by `add_members`, a batch at a time in load order, without
        the rows `dropped` (their keys)."""
        import polars as pl

        keys = pl.Series(dropped, dtype=pl.Int64).implode()
        for path in self.member_files:
            rows = pl.read_ipc(path)
            yield rows.filter(~pl.col("source_row").is_in(keys)) if dropped else rows


def _without(ids: pl.DataFrame, dropped: list[int]) -> pl.DataFrame:
    import polars as pl

    if not dropped:
        return ids
    return ids.filter(~pl.col(ROW).is_in(pl.Series(dropped, dtype=pl.Int64).implode()))


def _validate(
    table: Table, summary: LoadSummary, progress: Progress | None, pad: int | None
) -> pl.DataFrame:
    """Clean every row, one at a time; returns the valid rows as `_validate_frame` does,
    before the dedupe (rejections go to the summary). Ids of digits are padded with zeros
    to `pad`, when given."""
    cleaner = RowCleaner(table, _parsers(pad))
    id_index = table.columns["client_id"]
    extra = sorted(table.extra.items(), key=lambda item: item[1])
    records: list[tuple[Any, ...]] = []
    numbers: list[int] = []
    extras: list[str | None] = []
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
        else:
            records.append(cleaned)
            numbers.append(number)
            extras.append(_extras_json((h, cells[i]) for h, i in extra) if extra else None)
    if progress is not None:
        progress(done % PROGRESS_STEP)
    summary.rows += counted
    return _accounts_frame(records, extras, numbers)


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


def _finish_errors(summary: LoadSummary, sources: _Sources) -> None:
    summary.errors.sort(key=sources.order)
    summary.rejected = len(summary.errors)


class _Dedupe:
    """One record per client id. The same id twice with the same known values counts once
    (the rest are duplicates); with different values, every row of that id is rejected."""

    def __init__(self, sources: _Sources, summary: LoadSummary) -> None:
        self.sources = sources
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
            errors.append(self.sources.conflict(number, client_id, first, ["values"]))
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
            errors.append(self.sources.conflict(row, client_id, number, differing))
        errors.append(self.sources.conflict(number, client_id, earlier[0], differing))
        return False


def _validate_frame(
    frame: pl.DataFrame,
    table: Table,
    summary: LoadSummary,
    progress: Progress | None,
    pad: int | None,
) -> pl.DataFrame:
    """`_validate` a column at a time, with the same outcome: the valid rows (not yet one
    per client id: `_dedupe_frame`), in KNOWN_FIELDS' columns, `extra` (the extra cells'
    JSON) and ROW.

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
    if progress is not None:
        progress(frame.height)
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


def _rising(client_ids: pl.Series) -> bool:
    """Whether the ids rise from each row to the next (in the byte order of their UTF-8,
    which PostgreSQL's C and C.UTF-8 collations sort by)."""
    n = len(client_ids)
    return n < 2 or bool((client_ids.slice(1) > client_ids.slice(0, n - 1)).all())


def _dedupe(ids: pl.DataFrame, spill: _Spill, sources: _Sources, summary: LoadSummary) -> list[int]:
    """The keys of the rows to drop so that one row per client id is left across every
    file and batch of the load, as `_Dedupe` decides for the ids seen more than once (in
    key order: file by file, row by row)."""

    client_ids = ids["client_id"]
    if _rising(client_ids):
        return []  # ids in increasing order, as core systems export them: none repeats
    repeated = ids.filter(client_ids.is_duplicated())[ROW]
    if repeated.is_empty():
        return []
    dedupe = _Dedupe(sources, summary)
    for number, *cleaned in spill.rows(repeated).select(ROW, *KNOWN_FIELDS).iter_rows():
        dedupe.add(number, tuple(cleaned))
    kept = set(dedupe.first_row[k] for k in dedupe.records)
    return [key for key in repeated.to_list() if key not in kept]


def _accounts_frame(
    rows: list[tuple[Any, ...]], extras: list[str | None], numbers: list[int]
) -> pl.DataFrame:
    """The row reader's records, found at rows `numbers`, as the frame `_validate_frame`
    returns."""
    import polars as pl

    data = {ROW: pl.Series(ROW, numbers, pl.Int64)}
    data |= {
        name: pl.Series(name, [row[i] for row in rows], columns.output_type(parse))
        for i, (name, parse) in enumerate(zip(KNOWN_FIELDS, _PARSERS, strict=True))
    }
    data["extra"] = pl.Series("extra", extras, pl.String)
    return pl.DataFrame(data)


_PADDED_TABLE = "stage_padded"


def _reject_lost_zeros(
    conn: Connection, accounts: pl.DataFrame, sources: _Sources, summary: LoadSummary
) -> list[int]:
    """The keys (ROW) of `accounts`' rows whose id, all digits and new to the database, is
    a known client's id or another id of the file short of its leading zeros; each is
    rejected with the width that mends it. Excel saves 0021792650 as the number 21792650:
    such a file would add every client a second time, under another id.

    A file of a few ids has each new one looked up padded to every longer width
    (`values.longer_widths`); a bigger one to the widths of the database's ids (one read
    of every client's id) and the file's, so that if its ids all keep their width that
    read is the one query.
    """
    import polars as pl

    ids = accounts.select(ROW, "client_id").filter(pl.col("client_id").str.contains(_DIGITS_ONLY))
    if ids.is_empty():
        return []
    lengths = ids["client_id"].str.len_chars()
    shortest = lengths.min()
    assert isinstance(shortest, int)
    lookups = (values.MAX_ID_LENGTH - lengths).sum()
    widths: Sequence[int] | None = values.longer_widths(shortest, int(lookups))
    if widths is None:
        known_widths = conn.execute(select(func.distinct(func.length(CLIENTS.c.client_id))))
        widths = sorted(
            width
            for width in set(lengths.unique().to_list()) | set(known_widths.scalars())
            if width is not None and shortest < width <= values.MAX_ID_LENGTH
        )
    if not widths:
        return []
    bulk.stage(
        conn,
        _PADDED_TABLE,
        {"source_row": "BIGINT", "client_id": "TEXT"},
        ids.filter(lengths < max(widths)).iter_rows(),
    )
    listed = ", ".join(f"({width})" for width in widths)
    padded = dialect.zero_padded(conn, "s.client_id", "w.width", values.MAX_ID_LENGTH)
    # each staged id new to the database, with each width at which it padded is a known
    # client's id, or once with none: padded by the database, a row per id staged
    found = conn.exec_driver_sql(
        f"""WITH w (width) AS (VALUES {listed})
            SELECT s.source_row, s.client_id, w.width
            FROM {_PADDED_TABLE} s
            LEFT JOIN w ON w.width > length(s.client_id)
                       AND EXISTS (SELECT 1 FROM client c WHERE c.client_id = {padded})
            WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.client_id)"""
    ).all()
    conn.exec_driver_sql(f"DROP TABLE {_PADDED_TABLE}")
    in_file = set(accounts["client_id"].to_list()) if found else set()
    in_file_widths = sorted(set(lengths.unique().to_list()).intersection(widths))
    matches = []
    for number, client_id, width in found:
        if width is not None:
            matches.append((number, client_id, client_id.zfill(width), width, True))
            continue
        matches += [
            (number, client_id, padded_id, other, False)
            for other in in_file_widths
            if other > len(client_id) and (padded_id := client_id.zfill(other)) in in_file
        ]
    lost: dict[int, tuple[str, str, int]] = {}
    for number, client_id, padded_id, width, _known in sorted(matches, key=_nearest):
        lost.setdefault(number, (client_id, padded_id, width))
    if not lost:
        return []
    for number, (client_id, padded, width) in lost.items():
        reason = t("reject.lost_zeros", value=client_id, client_id=padded, width=width)
        summary.errors.append(sources.reject(number, "client_id", reason))
    _finish_errors(summary, sources)
    return list(lost)


def _nearest(found: Any) -> tuple[int, bool, int]:
    """A row's matches in the order its reason names them: a known client before another
    id of the file, then the narrower width."""
    number, _, _, width, known = found
    return number, not known, width


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class _Context:
    """What the database already knows that decides who joins."""

    members: pl.Series  # ids, as a column: 10M ids as Python strings would take 1 GB
    other_open: pl.Series
    dnc_ids: frozenset[str]
    dnc_mobiles: frozenset[str]
    branches: BranchResolver
    advisor_codes: frozenset[str]
    advisor_by_name: dict[str, str]

    @classmethod
    def load(cls, conn: Connection, campaign_id: int) -> _Context:
        members = _id_column(
            conn, select(MEMBERS.c.client_id).where(MEMBERS.c.campaign_id == campaign_id)
        )
        other_open = _id_column(
            conn,
            select(MEMBERS.c.client_id)
            .join(CAMPAIGNS, CAMPAIGNS.c.id == MEMBERS.c.campaign_id)
            .where(MEMBERS.c.campaign_id != campaign_id, CAMPAIGNS.c.status == "open")
            .distinct(),
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


#: Ids fetched at a time into a column: the driver's Python strings of one part at a time.
_ID_PART = 500_000


def _id_column(conn: Connection, statement: Select[tuple[str]]) -> pl.Series:
    """The ids `statement` selects, as a polars column built a part at a time."""
    import polars as pl

    result = conn.execute(statement, execution_options={"stream_results": True})
    parts = [
        pl.Series("client_id", part, pl.String) for part in result.scalars().partitions(_ID_PART)
    ]
    return pl.concat(parts) if parts else pl.Series("client_id", [], pl.String)


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
        "last_trade_date",
        "risk",
        "opened_at",
        _previous_advisor(kept["previous_advisor"], context).alias("previous_advisor"),
        "status",
        "extra",
        pl.col("is_member").cast(pl.Int64),
        pl.col("dnc").cast(pl.Int64),
        (pl.col(ROW) // FILE_STRIDE).alias("source"),
        pl.col(ROW).alias("source_row"),
    )


def _one_of(texts: pl.Expr, known: Iterable[str] | pl.Series) -> pl.Expr:
    """Whether each text is one of `known`."""
    import polars as pl

    if not isinstance(known, pl.Series):
        known = pl.Series(list(known), dtype=pl.String)
    return texts.is_in(known.implode())


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
    "source": "INTEGER",  # the file's place in the load: its import record
    "source_row": "BIGINT",  # the row's key (ROW): rows the dedupe drops are taken out by it
}
_DATA_COLUMNS = [
    c for c in _STAGE_COLUMNS if c not in ("client_id", "is_member", "dnc", "source", "source_row")
]


#: what a new member's `member` row is made of, kept from each batch on PostgreSQL
_MEMBER_FIELDS = ["client_id", "dnc", "source", "source_row"]
#: the `member` columns a load writes by binary COPY, and their types (`pgcopy`)
_MEMBER_COPIED = {
    "campaign_id": "INTEGER",
    "client_id": "TEXT",
    "joined_at": "TIMESTAMP WITH TIME ZONE",
    "import_id": "INTEGER",
    "dnc": "BOOLEAN",
    "control": "BOOLEAN",
}

STAGE_TABLE = "stage_account"
_KINDS_TABLE = "stage_kinds"


class _Compared(NamedTuple):
    """The staged rows against the stored clients."""

    updated: int  # members whose client data differs from what is stored
    unchanged: int  # members whose data is the same
    changed: int  # clients, members or not, whose data differs
    new: int  # clients not stored yet


def _compare(conn: Connection, staged: int) -> _Compared:
    """The staged rows (`staged` of them) against the stored clients. With no client
    stored yet (a new database: none can be added meanwhile, under the load's lock) every
    staged row is new, and the join is not run (a left join of 8.2M staged rows with an
    empty `client`: 1.9 s at 10M, benchmarks/README.md)."""
    if not conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM client)").scalar():
        return _Compared(updated=0, unchanged=0, changed=0, new=staged)
    changed = " OR ".join(dialect.is_distinct(conn, f"c.{c}", f"s.{c}") for c in _DATA_COLUMNS)
    stored = f"c.client_id IS NOT NULL AND ({changed})"
    counts = conn.exec_driver_sql(
        f"""SELECT
              SUM(CASE WHEN s.is_member = 1 AND ({stored}) THEN 1 ELSE 0 END),
              SUM(CASE WHEN s.is_member = 1 AND c.client_id IS NOT NULL AND NOT ({changed})
                       THEN 1 ELSE 0 END),
              SUM(CASE WHEN {stored} THEN 1 ELSE 0 END),
              SUM(CASE WHEN c.client_id IS NULL THEN 1 ELSE 0 END)
            FROM {STAGE_TABLE} s LEFT JOIN client c ON c.client_id = s.client_id"""
    ).one()
    return _Compared(*(int(count or 0) for count in counts))


def _copy_members(
    conn: Connection,
    campaign_id: int,
    import_ids: list[int],
    joined_at: dt.datetime,
    rows: Iterable[pl.DataFrame],
) -> None:
    """The new members' `member` rows by binary COPY from `rows` (`_MEMBER_FIELDS`), as
    the INSERT from the stage writes them: the server's INSERT ... SELECT took 1.6-2.1 s
    of its CPU for 1.65M members, the same rows by binary COPY 1.1 s (benchmarks/README.md)."""
    import polars as pl

    files = pl.Series(import_ids, dtype=pl.Int32)
    for batch in rows:
        member = batch.select(
            pl.lit(campaign_id, pl.Int32).alias("campaign_id"),
            "client_id",
            pl.lit(joined_at, pl.Datetime("us", "UTC")).alias("joined_at"),
            pl.col("source").map_batches(lambda source: files.gather(source)).alias("import_id")
            if len(import_ids) > 1
            else pl.lit(import_ids[0], pl.Int32).alias("import_id"),
            (pl.col("dnc") != 0).alias("dnc"),
            pl.lit(False).alias("control"),
        )
        bulk.copy_frame(conn, "member", member, _MEMBER_COPIED)


def _write(
    conn: Connection,
    campaign_id: int,
    import_ids: list[int],
    members: int,
    new_members: int,
    compared: _Compared,
    kinds: pl.DataFrame,
    *,
    in_id_order: bool,
    member_rows: Iterator[pl.DataFrame] | None = None,
) -> None:
    """Update the clients whose data changed, add the new ones and the new members, from
    the staged rows, each member tied to the import record of its file (`import_ids`, in
    load order); flag do-not-call on the `members` staged who were members already. What
    `compared` found none of is not looked for again (a reload of 10M unchanged rows).
    The new members' rows are `member_rows`' when given (PostgreSQL: sent by binary COPY,
    `_copy_members`) and COPY may write `member` (`bulk.may_copy_into`), else the stage's."""
    moment = utcnow()
    now = dialect.time_literal(conn, moment)
    import_id = str(int(import_ids[0]))
    if len(import_ids) > 1:
        import_id = "CASE source {} END".format(
            " ".join(f"WHEN {i} THEN {int(found)}" for i, found in enumerate(import_ids))
        )
    # the summary rows keep their client's branch, risk and asset band (the report's
    # breakdown keys): those of a client whose keys change here are rewritten below
    # (keys are client data: no changed client, none rekeyed)
    rekeyed = bool(compared.changed) and stages.note_rekeyed(conn, STAGE_TABLE)
    changed = " OR ".join(dialect.is_distinct(conn, f"client.{c}", f"s.{c}") for c in _DATA_COLUMNS)
    # Changed clients are updated and new ones inserted plainly, not by one upsert:
    # PostgreSQL's ON CONFLICT inserts each row speculatively (a WAL record more, and a
    # lock on every row it meets): 824k new clients took 28.7 s that way, 17.8 s plainly.
    # (The lock on `client` taken before `_compare` keeps another load out meanwhile.)
    if compared.changed:
        conn.exec_driver_sql(
            f"""UPDATE client SET {", ".join(f"{c} = s.{c}" for c in _DATA_COLUMNS)}, updated_at = {now}
                FROM {STAGE_TABLE} s
                WHERE client.client_id = s.client_id
                  AND ({changed})"""
        )
    if compared.new:
        with bulk.indexes_built_after(conn, ["client"], compared.new):
            conn.exec_driver_sql(
                f"""INSERT INTO client (client_id, {", ".join(_DATA_COLUMNS)}, updated_at)
                    SELECT s.client_id, {", ".join(f"s.{c}" for c in _DATA_COLUMNS)}, {now}
                    FROM {STAGE_TABLE} s
                    WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.client_id)"""
            )
    summary_tables = ["member", "client_stage"]
    # Every row written below names a campaign (none is ever removed; this one is held
    # since the compare), this load's import records, or clients compared with or added
    # to `client` under the load's lock on it: their foreign keys hold without a check.
    # The new members' rows go in with the tables' indexes and keys dropped, those made
    # again after them by a sort each (the keys checking every row once), each by this
    # backend alone (the new members' keys are alike or in order: parallel workers only
    # cost CPU); the statements that look members up come after, with the indexes back.
    with bulk.foreign_keys_known_to_hold(conn, summary_tables, new_members):
        with bulk.indexes_built_after(
            conn,
            summary_tables,
            new_members,
            keys=True,
            parallel=False,
            keys_in_order=in_id_order,
        ):
            if new_members:
                if member_rows is not None and bulk.may_copy_into(conn, "member"):
                    _copy_members(conn, campaign_id, import_ids, moment, member_rows)
                else:
                    conn.exec_driver_sql(
                        f"""INSERT INTO member (campaign_id, client_id, joined_at, import_id, dnc, control)
                            SELECT {int(campaign_id)}, client_id, {now}, {import_id}, dnc <> 0, false
                            FROM {STAGE_TABLE} WHERE is_member = 0"""
                    )
                # every member has its summary row from the start, so that the report
                # counts what the load counted (the do-not-call members above all, whom
                # no assignment touches)
                bulk.stage(conn, _KINDS_TABLE, stages.NEW_MEMBER_KINDS, kinds.iter_rows())
                stages.add_new_members(
                    conn, campaign_id, STAGE_TABLE, "s.is_member = 0", kinds=_KINDS_TABLE
                )
                conn.exec_driver_sql(f"DROP TABLE {_KINDS_TABLE}")
        if new_members >= bulk.FOREIGN_KEYS_ONCE_FROM:
            bulk.analyze(conn, "member")
        if members:
            conn.exec_driver_sql(
                f"""UPDATE member SET dnc = true
                    WHERE campaign_id = {int(campaign_id)} AND NOT dnc
                      AND client_id IN (SELECT client_id FROM {STAGE_TABLE} WHERE is_member = 1 AND dnc = 1)"""
            )
        stages.refresh_rekeyed(conn, rekeyed)
        if members:
            stages.refresh_selected(
                conn,
                campaign_id,
                f"SELECT client_id FROM {STAGE_TABLE} WHERE is_member = 1 AND dnc = 1",
                {},
            )
