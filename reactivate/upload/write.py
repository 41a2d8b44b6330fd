"""The upload itself (`upload`): read, check, stage, then write in one transaction.

Here live the steps' order and the writing: the staged table of facts (`upload_event`),
the check of every row (column checks, then the row checker for the rest), the rules
across rows (no call after a do-not-call result in the same upload, no two results for
one call), and the one write transaction (`record_upload`: imports recorded, new facts
inserted, the stage summary rebuilt).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager as ContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

from reactivate import access, registry
from reactivate.clock import from_db, local, utcnow
from reactivate.db import bulk, dialect, stages
from reactivate.db.import_log import record, who
from reactivate.db.locks import lock_campaign
from reactivate.errors import ConfigError, Rejection
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.sheets.clean import cyclic_gc_paused
from reactivate.sheets.fields import RESULT_FIELDS
from reactivate.sheets.read import open_table
from reactivate.sheets.rejects import write_rejects
from reactivate.sheets.workbook import Stamp, disposition_label
from reactivate.upload import columns as rc
from reactivate.upload.columns import UNTIMED
from reactivate.upload.members import Lookup, load_context, lost_zeros, members_at_most
from reactivate.upload.model import (
    FIELD_NAMES,
    KIND,
    READING,
    WRITING,
    Context,
    FileSummary,
    Progress,
    StagedFact,
    UploadFile,
    UploadOptions,
    UploadSummary,
    find_product,
    member_of,
)
from reactivate.upload.read import Opened, read_all, read_stamps, upload_files
from reactivate.upload.rows import RowChecker, minute

if TYPE_CHECKING:
    import polars as pl

_EVENT_STAGE = "upload_event"
_FILE_STAGE = "upload_file"


def _event_columns(conn: Connection) -> dict[str, str]:
    """The staged table of facts, in `StagedFact` order."""
    moment = dialect.time_type(conn)
    return {
        "client_id": "TEXT",
        "stage": "TEXT",
        "value": "TEXT",
        "occurred_at": moment,
        "match_time": "INTEGER",
        "advisor_code": "TEXT",
        "file_index": "INTEGER",
        "source_row": "INTEGER",
        "source_ref": "TEXT",
    }


# Facts the campaign already holds (the same client, kind and value, at the same time or,
# for a fact without one, at any), not voided, add nothing. Dropped from the staged
# facts first, so the INSERT reads no table it writes and SQLite need not buffer it.
_KNOWN_SQL = """
DELETE FROM upload_event
WHERE EXISTS (
    SELECT 1 FROM event e
    WHERE e.campaign_id = :campaign_id AND e.client_id = upload_event.client_id
      AND e.stage = upload_event.stage
      AND COALESCE(e.value, '') = COALESCE(upload_event.value, '')
      AND ((upload_event.match_time = 1 AND e.occurred_at = upload_event.occurred_at)
           OR (upload_event.match_time = 0
               AND (upload_event.stage <> :call OR e.source_ref = :untimed)))
      AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id))
"""

# The staged facts of the live files (those staged in upload_file), which `_INSERT_SQL`
# inserts, each once: their counts and clients are read from them afterwards rather than
# from `event` by its import, which read back each new event's index entry and row.
_INSERTED = "upload_event s JOIN upload_file f ON f.file_index = s.file_index"

_INSERT_SQL = f"""
INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code, source,
                   import_id, source_file, source_row, source_ref, recorded_by, recorded_at)
SELECT :campaign_id, s.client_id, s.stage, s.value, s.occurred_at, s.advisor_code, 'upload',
       f.import_id, f.source_file, s.source_row, s.source_ref, :who, :now
FROM {_INSERTED}
"""


def _applied_before(conn: Connection, campaign_id: int, digests: Sequence[str]) -> dict[str, int]:
    """SHA-256 -> the import that applied that file already (undone uploads do not count)."""
    if not digests:
        return {}
    rows = conn.execute(
        text(
            "SELECT sha256, MIN(id) FROM import_record WHERE kind = :kind AND campaign_id = :cid"
            " AND status = 'applied' GROUP BY sha256"
        ),
        {"kind": KIND, "cid": campaign_id},
    )
    wanted = set(digests)
    return {sha: int(found) for sha, found in rows if sha in wanted}


def upload(
    engine: Engine,
    slug: str,
    paths: Sequence[Path],
    options: UploadOptions | None = None,
    progress: Progress | None = None,
) -> UploadSummary:
    """Check every row of every file, then apply the facts they state in one transaction.

    Returns the summary; with rejected rows and no `skip_invalid`, nothing is applied
    (`summary.refused`) and the refusal is still recorded in the import log. `progress`
    is told of each file read, then once as the checking and writing begin.
    """
    with cyclic_gc_paused():
        return _upload(engine, slug, paths, options or UploadOptions(), progress)


def _upload(
    engine: Engine,
    slug: str,
    paths: Sequence[Path],
    options: UploadOptions,
    progress: Progress | None,
) -> UploadSummary:
    # One connection for the whole upload, the campaign looked up on it too: its temporary
    # tables hold the staged facts from the first file read to the write.
    with engine.connect() as conn:
        with conn.begin():
            registered = registry.open_campaign(engine, slug, conn=conn)
        files = upload_files(paths)
        summary = UploadSummary(
            campaign=slug,
            files=[f.summary for f in files],
            dry_run=options.dry_run,
            skip_invalid=options.skip_invalid,
        )
        who_calls, stamp_valid, done, context = _begin(conn, registered, options, files)
        todo = _to_read(files, done)
        checker = RowChecker(context, options, dialect.stored_time(conn))
        batches = _batches(
            todo, options.batch_rows, lambda batch: read_stamps(batch, slug, stamp_valid)
        )
        named = _read_check_stage(conn, registered.id, todo, batches, checker, progress, who_calls)
        for item in todo:
            item.errors.sort(key=lambda e: e.row)
            item.summary.rejected = len({e.row for e in item.errors})
            summary.errors.extend(item.errors)
        if options.dry_run:
            status = "dry_run"
        elif summary.errors and not options.skip_invalid:
            status = "refused"
        else:
            status = "applied"
        if status == "applied" and summary.errors:
            _write_rejects(todo)  # first: rejects that cannot be kept apply nothing
        _commit(conn, registered.id, files, named, status, context.now)
    summary.applied = status == "applied"
    return summary


def _begin(
    conn: Connection,
    registered: registry.Registered,
    options: UploadOptions,
    files: Sequence[UploadFile],
) -> tuple[access.Caller | None, Callable[[Stamp], bool], dict[str, int], Context]:
    """Set the upload up, in a transaction of its own: who calls (refused unless ops or
    an advisor), how stamps are checked, the files applied before (SHA-256 -> import),
    the context rows are checked against, and the empty staged table of facts. Refuses
    an unknown --advisor."""
    columns = _event_columns(conn)
    with conn.begin():
        who_calls = access.require(conn, "access.action.upload", access.ADVISOR)
        access.check_refresh(conn, who_calls, registered.id)
        if options.advisor:
            known = conn.execute(
                text("SELECT 1 FROM advisor WHERE code = :code"), {"code": options.advisor}
            ).first()
            if known is None:
                raise ConfigError(t("error.advisor_unknown", code=options.advisor))
        stamp_valid = access.stamp_check(conn, who_calls)
        done = _applied_before(conn, registered.id, [f.summary.sha256 for f in files])
        bulk.sqlite_temp_in_memory(conn)  # the staged rows live for one upload
        bulk.postgresql_temp_buffers(conn)
        bulk.sqlite_bulk_cache(conn)
        context = load_context(conn, registered, utcnow())
        bulk.create(conn, _EVENT_STAGE, columns)
    return who_calls, stamp_valid, done, context


def _to_read(files: Sequence[UploadFile], done: dict[str, int]) -> list[UploadFile]:
    """The files to read: the others, applied before or named twice in this upload, are
    marked skipped (with the import or file they repeat)."""
    seen: dict[str, FileSummary] = {}
    todo: list[UploadFile] = []
    for item in files:
        digest = item.summary.sha256
        if digest in done or digest in seen:
            item.summary.status = "skipped"
            item.summary.same_as = done.get(digest) or seen[digest].import_id
            continue
        seen[digest] = item.summary
        todo.append(item)
    return todo


def _batches(
    todo: Sequence[UploadFile], batch_rows: int, read_stamps: Callable[[list[UploadFile]], None]
) -> Iterator[tuple[int, list[UploadFile]]]:
    """`todo` in runs of files of about `batch_rows` rows in all (by their stamps; a plain
    sheet is a run of its own), each with its first position; `read_stamps` reads a run's
    stamps before it is given. Once a run is done with, its stamps' issued ids are let go:
    5,000 stamps hold 10M ids, about 0.6 GB as Python strings."""
    run: list[UploadFile] = []
    first = rows = 0
    for position, item in enumerate(todo):
        read_stamps([item])
        size = len(item.stamp.client_ids) if item.stamp is not None else batch_rows
        if run and rows + size > batch_rows:
            yield first, run
            _forget_issued(run)
            run, first, rows = [], position, 0
        run.append(item)
        rows += size
    if run or not todo:  # nothing to read (every file done before) is still checked once
        yield first, run
        _forget_issued(run)


def _forget_issued(run: Sequence[UploadFile]) -> None:
    for item in run:
        if item.stamp is not None:
            item.stamp = replace(item.stamp, client_ids=())


def _read_check_stage(
    conn: Connection,
    campaign_id: int,
    todo: Sequence[UploadFile],
    batches: Iterable[tuple[int, list[UploadFile]]],
    checker: RowChecker,
    progress: Progress | None,
    who_calls: access.Caller | None,
) -> tuple[int, set[str]]:
    """Read the files to do a batch at a time (`batches`: runs of `todo` with their first
    position, stamps read), check every row, and stage the facts the accepted rows state.
    Returns how many clients accepted rows name, and those named by more than one. An
    advisor naming another's client is refused here, before any write."""
    import polars as pl

    named: list[pl.Series] = []
    if progress is not None:
        progress(READING, 0, len(todo))
    lookup = Lookup(campaign_id, len(todo))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for first, batch in batches:
            told = None if progress is None else _offset(progress, first, len(todo))
            rows, looked_up = _read_and_look_up(conn, lookup, batch, first, pool, told)
            named.append(
                _check_stage(conn, campaign_id, todo, rows, looked_up, checker, who_calls, lookup)
            )
            del rows, looked_up
    del lookup
    if progress is not None:
        progress(WRITING, len(todo), len(todo))
    counts = pl.concat(named).value_counts()
    del named
    named_again = set(counts.filter(pl.col("count") > 1)["client_id"].to_list())
    with conn.begin():
        _reject_across_rows(conn, todo, checker, named_again)
    return counts.height, named_again


def _offset(progress: Progress, first: int, total: int) -> Progress:
    """`progress` told of a batch's files as of the whole upload's."""
    return lambda phase, done, _of: progress(phase, first + done, total)


def _check_stage(
    conn: Connection,
    campaign_id: int,
    todo: Sequence[UploadFile],
    rows: pl.DataFrame,
    looked_up: pl.DataFrame,
    checker: RowChecker,
    who_calls: access.Caller | None,
    lookup: Lookup,
) -> pl.Series:
    """Check one batch's `rows` (their clients' member columns in `looked_up`; `lookup`
    finds the others) and stage the facts of the accepted ones; returns the clients they
    name, once per row."""
    import polars as pl

    if who_calls is not None and not who_calls.ops:
        named_rows = rows.select(rc.FILE, rc.ROW, "client_id").drop_nulls("client_id")
        with conn.begin():
            access.check_upload(
                conn,
                who_calls,
                campaign_id,
                (
                    (str(todo[position].path), row, client_id)
                    for position, row, client_id in named_rows.iter_rows()
                ),
                checker.options.advisor,
            )
    unlisted = (
        rows.select(pl.col("client_id").drop_nulls().unique())
        .join(looked_up.select("client_id"), on="client_id", how="anti")
        .to_series()
    )
    if len(unlisted):
        with conn.begin():
            more = lookup(conn, unlisted.to_list())
        looked_up = pl.concat([looked_up, more])
    unknown = looked_up.filter(~pl.col("known"))["client_id"].to_list()
    if unknown:
        with conn.begin():
            checker.lost_zeros = lost_zeros(conn, campaign_id, unknown)
    joined = rows.join(looked_up, on="client_id", how="left", maintain_order="left")
    del rows, looked_up
    facts, named = _check_all(joined, todo, checker, conn)
    del joined
    bulk.append_frame(conn, _EVENT_STAGE, facts)
    return named


def _read_and_look_up(
    conn: Connection,
    lookup: Lookup,
    batch: Sequence[UploadFile],
    first: int,
    pool: ThreadPoolExecutor,
    progress: Progress | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cleaned rows of a batch of files (`read_all`; `first`: the position of its first
    file in the upload), and the member columns of the clients the workbooks were issued
    for, looked up in one pass while the first files are read. Clients sheets name beyond
    their stamps (plain sheets) are for the caller to look up."""
    import polars as pl

    issued = {
        client_id
        for item in batch
        if item.stamp is not None and item.problem is None
        for client_id in item.stamp.client_ids
    }
    opened = Opened(pool, batch)  # the first files are read during the lookup
    with conn.begin():
        looked_up = lookup.batch(conn, issued, len(batch))
    del issued
    rows = read_all(batch, opened, progress)
    if first:
        rows = rows.with_columns(pl.col(rc.FILE) + first)
    return rows, looked_up


def _check_all(
    joined: pl.DataFrame,
    todo: Sequence[UploadFile],
    checker: RowChecker,
    conn: Connection,
) -> tuple[pl.DataFrame, pl.Series]:
    """Check every row (`joined`: `read_all`'s rows with their clients' member columns).

    Returns the facts to stage (`columns.FACT_COLUMNS`, in row order) and the clients the
    accepted rows name, once per row. The column checks accept most rows at once; the row
    checker judges the rest.
    """
    import polars as pl

    rules = _rules(joined, checker.context, checker.options, conn)
    checked = rc.accept(joined, rules)
    accepted = rc.accepted(checked)
    fast = rc.facts(accepted, rules, checker.now_stored)
    for client_id, when in rc.dnc_times(accepted, checker.context.now).items():
        seen = checker.dnc_in_upload.get(client_id)  # an earlier batch's, maybe
        if seen is None or when < seen:
            checker.dnc_in_upload[client_id] = when
    for position, foreign in (
        accepted.filter(pl.col(rc.FOREIGN)).group_by(rc.FILE).len().iter_rows()
    ):
        todo[position].summary.foreign += foreign
    slow: list[StagedFact] = []
    also_accepted: list[str] = []
    for judged in checked.filter(~pl.col(rc.OK)).iter_rows(named=True):
        position = judged[rc.FILE]
        row = tuple(judged[name] for name in FIELD_NAMES)
        member = member_of(judged)
        if checker.check(todo[position], position, judged[rc.ROW], row, member, slow):
            also_accepted.append(row[0])
    named = pl.concat([accepted["client_id"], pl.Series("client_id", also_accepted, pl.String)])
    facts = fast
    if slow:
        schema = fast.schema
        facts = pl.concat([fast, pl.DataFrame(slow, schema=schema, orient="row")])
        facts = facts.sort(rc.FILE, rc.ROW, maintain_order=True)
    return facts, named


def _rules(
    joined: pl.DataFrame, context: Context, options: UploadOptions, conn: Connection
) -> rc.Rules:
    """What the column checks need to know of the campaign and this upload."""
    campaign = context.campaign
    products = joined["product"].drop_nulls().unique().to_list()
    return rc.Rules(
        tz=campaign.tz,
        start=campaign.start,
        end=campaign.end,
        now=context.now,
        dispositions=campaign.dispositions,
        products={
            name: (found.code, found.risk) if (found := find_product(campaign, name)) else None
            for name in products
        },
        advisor_codes=context.advisor_codes,
        advisor_by_name=context.advisor_by_name,
        default_advisor=options.advisor,
        allow_foreign=options.allow_foreign,
        sqlite=conn.dialect.name == "sqlite",
    )


def _staged_facts_of(conn: Connection, client_ids: Iterable[str]) -> list[Any]:
    """The staged facts of `client_ids` as (file_index, source_row, stage, client_id, value,
    occurred_at, match_time), in the order the upload read them."""
    bulk.stage(conn, "named_client", {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in client_ids))
    found = conn.execute(
        text(
            "SELECT s.file_index, s.source_row, s.stage, s.client_id, s.value, s.occurred_at,"
            f" s.match_time FROM {_EVENT_STAGE} s JOIN named_client n ON n.client_id = s.client_id"
            " ORDER BY s.file_index, s.source_row"
        )
    ).all()
    conn.exec_driver_sql("DROP TABLE named_client")
    return list(found)


def _unstage(conn: Connection, keys: Collection[tuple[Any, ...]], columns: Sequence[str]) -> None:
    """Remove the staged facts whose `columns` match one of `keys` (whole rows, or facts)."""
    if not keys:
        return
    types = {name: "TEXT" if name == "stage" else "INTEGER" for name in columns}
    bulk.stage(conn, "unstaged", types, keys)
    listed = ", ".join(columns)
    conn.exec_driver_sql(
        f"DELETE FROM {_EVENT_STAGE} WHERE ({listed}) IN (SELECT {listed} FROM unstaged)"
    )
    conn.exec_driver_sql("DROP TABLE unstaged")


def _reject_across_rows(
    conn: Connection, todo: Sequence[UploadFile], checker: RowChecker, named_again: set[str]
) -> None:
    """Refuse the rows that break a rule only with another row of this upload: a call
    later than a do-not-call result, and two results for one call.

    Only a client named in more than one accepted row can break them, so only their
    staged facts are read back.
    """
    if not named_again:
        return
    staged = _staged_facts_of(conn, named_again)
    bad_rows = _calls_after_dnc(staged, todo, checker) | _conflicting_calls(staged, todo, checker)
    _unstage(conn, bad_rows, ("file_index", "source_row"))


def _reject_row(item: UploadFile, row: int, column: str, reason: str) -> None:
    item.errors.append(Rejection(str(item.path), item.sheet, row, item.header(column), reason))


def _calls_after_dnc(
    staged: Sequence[Any], todo: Sequence[UploadFile], checker: RowChecker
) -> set[tuple[int, int]]:
    """Reject the calls later than a do-not-call result this upload gives their client;
    returns their (file, row)."""
    marked = checker.dnc_in_upload
    bad_rows: set[tuple[int, int]] = set()
    for position, row, kind, client_id, value, occurred_at, _match in staged:
        if kind != funnel.EVENT_CALL or value == funnel.DO_NOT_CALL or client_id not in marked:
            continue
        when = from_db(occurred_at)
        assert when is not None  # every staged fact has a time
        if when > marked[client_id]:
            bad_rows.add((position, row))
            shown = minute(local(marked[client_id], checker.tz))
            reason = t("reject.dnc_campaign", client_id=client_id, when=shown)
            _reject_row(todo[position], row, "call_result", reason)
    return bad_rows


def _conflicting_calls(
    staged: Sequence[Any], todo: Sequence[UploadFile], checker: RowChecker
) -> set[tuple[int, int]]:
    """Reject every row giving a call (the same client at the same time, as the sheet
    gave it) a result another row gives it differently: which one is true, nobody can
    say. The same result twice is one fact, kept once. Returns their (file, row)."""
    calls: dict[tuple[str, Any], list[tuple[int, int, str]]] = {}
    for position, row, kind, client_id, value, occurred_at, match_time in staged:
        if kind == funnel.EVENT_CALL and match_time and value is not None:
            calls.setdefault((client_id, occurred_at), []).append((position, row, value))
    bad_rows: set[tuple[int, int]] = set()
    for (client_id, occurred_at), given in calls.items():
        if len({value for _position, _row, value in given}) < 2:
            continue
        when = from_db(occurred_at)
        assert when is not None
        shown = minute(local(when, checker.tz))
        for this in given:
            # named with the first row that gives the call another result (rows in upload order)
            other = next(found for found in given if found[2] != this[2])
            first, second = sorted((this, other))
            fields = {
                "first": first[1],
                "second": second[1],
                "client_id": client_id,
                "when": shown,
                "first_result": disposition_label(first[2]),
                "second_result": disposition_label(second[2]),
            }
            if first[0] == second[0]:
                reason = t("reject.call_conflict", **fields)
            else:
                files = {"first_file": todo[first[0]].path, "second_file": todo[second[0]].path}
                reason = t("reject.call_conflict_files", **fields, **files)
            _reject_row(todo[this[0]], this[1], "call_result", reason)
            bad_rows.add((this[0], this[1]))
    return bad_rows


def _drop_restated(conn: Connection, live: Collection[int], named_again: set[str]) -> None:
    """Of facts stated by more than one row of the live files, keep the first row's."""
    if not named_again:
        return
    first: set[tuple[Any, ...]] = set()
    restated: set[tuple[int, int, str]] = set()
    for position, row, kind, client_id, value, occurred_at, match_time in _staged_facts_of(
        conn, named_again
    ):
        if position not in live:
            continue
        key = (client_id, kind, value, occurred_at if match_time else None)
        if key in first:
            restated.add((position, row, kind))
        else:
            first.add(key)
    _unstage(conn, restated, ("file_index", "source_row", "stage"))


def _commit(
    conn: Connection,
    campaign_id: int,
    files: list[UploadFile],
    named: tuple[int, set[str]],
    status: str,
    now: dt.datetime,
) -> None:
    """`record_upload` in one transaction, committed.

    A dry run does all of it and rolls back, so its counts are exactly what an upload
    would do.
    """
    transaction = conn.begin()
    try:
        record_upload(conn, campaign_id, files, named, status, now)
    except BaseException:
        transaction.rollback()
        raise
    if status == "dry_run":
        transaction.rollback()
        for item in files:
            item.summary.import_id = None
    else:
        transaction.commit()


def record_upload(
    conn: Connection,
    campaign_id: int,
    files: list[UploadFile],
    named: tuple[int, set[str]],
    status: str,
    now: dt.datetime,
) -> None:
    """Record the imports and, unless refused, insert the new staged events, in the
    caller's transaction, under the campaign's write lock.

    The last step before the upload commits: public so a test can stall an upload there
    (to make two overlap, or to kill one with its events written but not committed).
    """
    lock_campaign(conn, campaign_id)
    # Another upload of the same file may have committed while we were reading.
    done = _applied_before(conn, campaign_id, [f.summary.sha256 for f in files])
    live: list[tuple[int, UploadFile]] = []
    todo = [f for f in files if f.summary.status != "skipped"]
    for position, item in enumerate(todo):
        if item.summary.sha256 in done:
            item.summary.status = "skipped"
            item.summary.same_as = done[item.summary.sha256]
        else:
            live.append((position, item))
    for item in files:
        s = item.summary
        if s.status == "pending":
            s.status = status
        s.unchanged = s.rows - s.rejected
        s.import_id = record(
            conn,
            kind=KIND,
            campaign_id=campaign_id,
            path=item.path,
            sha256=s.sha256,
            rows=s.rows,
            counts=_recorded_counts(item),
            status=s.status,
        )
    if status in ("applied", "dry_run") and live:
        _insert(conn, campaign_id, live, named, now)
        for _position, item in live:
            s = item.summary
            s.unchanged = s.rows - s.applied - s.rejected
            conn.execute(
                text("UPDATE import_record SET counts = :counts WHERE id = :id"),
                {"counts": json.dumps(_recorded_counts(item)), "id": s.import_id},
            )


def _recorded_counts(item: UploadFile) -> dict[str, Any]:
    """What the import log keeps of a file's counts: with its workbook's advisor, so that
    a manager's report and the database's policies can tell whose upload it was."""
    advisor = {"advisor": item.stamp.advisor} if item.stamp is not None else {}
    return {**item.summary.counts(), **advisor}


# The clients whose events this upload inserted.
_TOUCHED_SQL = f"SELECT s.client_id FROM {_INSERTED}"


def _insert(
    conn: Connection,
    campaign_id: int,
    live: list[tuple[int, UploadFile]],
    named: tuple[int, set[str]],
    now: dt.datetime,
) -> None:
    """Insert the new staged facts of the live files (the first row stating one wins).

    `named`: how many clients rows stated facts for, and those named by more than one row.
    """
    touched, named_again = named
    _drop_restated(conn, {position for position, _item in live}, named_again)
    bulk.stage(
        conn,
        _FILE_STAGE,
        {"file_index": "INTEGER PRIMARY KEY", "import_id": "INTEGER", "source_file": "TEXT"},
        [(position, item.summary.import_id, str(item.path)) for position, item in live],
    )
    by_import = {item.summary.import_id: item.summary for _position, item in live}
    conn.execute(
        text(_KNOWN_SQL),
        {"campaign_id": campaign_id, "call": funnel.EVENT_CALL, "untimed": UNTIMED},
    )
    bulk.postgresql_work_mem(conn)
    # Every client has a fact or more: `touched` is a floor for the rows about to go in.
    with _keys_of_the_write(conn, touched):
        _insert_and_refresh(conn, campaign_id, by_import, touched, now)
    conn.exec_driver_sql(f"DROP TABLE {_EVENT_STAGE}")
    conn.exec_driver_sql(f"DROP TABLE {_FILE_STAGE}")


# A staged fact whose client is not in `client` (none, when every row named a member);
# each client looked up once, not once per fact (an advisor's sheet: 3,400 facts of 1,400)
_UNKNOWN_CLIENT_SQL = """
SELECT 1 FROM (SELECT DISTINCT client_id FROM upload_event) s
WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.client_id) LIMIT 1
"""


def _keys_of_the_write(conn: Connection, touched: int) -> ContextManager[None]:
    """How the foreign keys of the rows the write adds are checked.

    On PostgreSQL, every row it writes names the campaign (whose rows are never removed;
    this one held by the upload's lock), this upload's import records (written in this
    transaction) or clients the lookup found members (clients are never removed; seen
    again to exist, here, by one statement): so the keys of the events, the summary rows
    and the tallies hold, and their per-row triggers are skipped where the role may
    (`bulk.foreign_keys_known_to_hold`): for an advisor's sheet at 10M members, they
    were about 0.05-0.08 s of the server's 0.45 s, each event's three keys looked up and
    their rows locked one by one. Should a staged client be missing, the triggers run and
    refuse the write, as before. Where the triggers may not be skipped (nor the clients
    looked up for it: an advisor's role), an upload naming
    many clients has its keys checked once for the whole write
    (`bulk.foreign_keys_checked_once`), a smaller one row by row; SQLite checks keys by
    an index probe per row.
    """
    tables = ["event", *stages.WRITTEN]
    # the clients seen to exist only where the triggers may then be skipped
    if (
        bulk.may_skip_key_triggers(conn, tables)
        and conn.exec_driver_sql(_UNKNOWN_CLIENT_SQL).first() is None
    ):
        return bulk.foreign_keys_known_to_hold(conn, tables, touched, few_rows_too=True)
    return bulk.foreign_keys_checked_once(conn, ["event", "client_stage"], touched)


def _insert_and_refresh(
    conn: Connection,
    campaign_id: int,
    by_import: dict[int | None, FileSummary],
    touched: int,
    now: dt.datetime,
) -> None:
    """The staged facts into `event`, each file's counts, and the summary rows refreshed."""
    conn.execute(
        text(_INSERT_SQL),
        {"campaign_id": campaign_id, "who": who(conn), "now": dialect.db_time(conn, now)},
    )
    counted = conn.execute(
        text(
            f"SELECT f.import_id, COUNT(*), COUNT(DISTINCT s.source_row) FROM {_INSERTED}"
            " GROUP BY f.import_id"
        )
    )
    for import_id, events, applied in counted:
        by_import[import_id].events = int(events)
        by_import[import_id].applied = int(applied)
    # an advisor's clients are brought up to date by the database's refresh function
    if not access.refresh_own(
        conn, campaign_id, lambda: conn.execute(text(_TOUCHED_SQL)).scalars().all()
    ):
        if members_at_most(conn, campaign_id, 2 * touched):
            # An upload naming most members (every advisor's sheet at once): one pass over
            # the whole campaign is cheaper than first listing the clients it touched.
            stages.refresh(conn, campaign_id)
        else:
            stages.refresh_selected(conn, campaign_id, _TOUCHED_SQL, {})


def _write_rejects(todo: Sequence[UploadFile]) -> None:
    """Beside each file with rejected rows, `<file>.rejects.csv`: those rows, with reasons."""
    for item in todo:
        if item.errors:
            out = item.path.with_name(item.path.name + ".rejects.csv")
            reread = open_table(
                item.path, RESULT_FIELDS, sheet=item.sheet, display_name=str(item.path)
            )
            write_rejects(out, reread, item.errors)
            item.summary.rejects_path = str(out)
