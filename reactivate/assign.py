"""`reactivate assign` and `reactivate reassign`: the split, applied to the database, and workbooks.

The split itself is pure (`reactivate.rules.split`); this module gathers its input from the
database, draws the control group, writes assignments as events plus the member's current
advisor, and issues each advisor a signed workbook. One transaction: the assignments, their
events and the workbook records land together, and the workbooks are moved into place only
after the commit (written to a scratch folder first), so nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import shutil
import statistics
import tempfile
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    bindparam,
    column,
    func,
    select,
    table,
    text,
    update,
)

from reactivate import access, registry
from reactivate.clock import local, to_utc, utcnow
from reactivate.db import bulk, stages
from reactivate.db.dialect import sorts_by_code_point, streamed_rows, tune_big_reads
from reactivate.db.import_log import who
from reactivate.db.locks import lock_campaign
from reactivate.db.meta import workbook_secret
from reactivate.db.models import (
    ADVISORS,
    CLIENTS,
    DO_NOT_CALL,
    MEMBERS,
    WECOM_WAYS,
    WORKBOOK_ISSUES,
)
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.registry import Registered
from reactivate.rules import funnel
from reactivate.rules.split import (
    Candidate,
    CandidateColumns,
    ColumnSplit,
    Seat,
    SplitRules,
    draw_holdout,
    split,
    split_columns,
)
from reactivate.sheets.workbook import (
    WorkbookClient,
    WorkbookFollowup,
    WorkbookProduct,
    WorkbookSpec,
    stamp_digest,
    write_advisor_workbook,
)

__all__ = ["AssignOptions", "AssignSummary", "assign", "reassign"]


@dataclass
class AssignOptions:
    """Flags of `reactivate assign`; None means "the campaign's setting"."""

    holdout: float | None = None
    cross_branch: bool | None = None
    keep_owner: bool | None = None
    seed: int | None = None
    dry_run: bool = False
    assigned_at: dt.datetime | None = None  # naive = the campaign's wall clock
    out_dir: Path | None = None
    workbooks: bool = True


@dataclass(frozen=True)
class AdvisorBook:
    """An advisor's book in the campaign after the run."""

    code: str
    name: str
    branch: str
    clients: int
    new: int
    assets: float
    median_assets: float | None


@dataclass
class AssignSummary:
    campaign: str
    assigned: int = 0  # placed by this run
    kept: int = 0  # of which with their previous owner
    control: int = 0  # drawn into the control group by this run
    unassigned: int = 0  # eligible members still without an advisor
    unassigned_by_branch: dict[str, int] = field(default_factory=dict)
    advisors: list[AdvisorBook] = field(default_factory=list)
    workbooks: list[Path] = field(default_factory=list)
    dry_run: bool = False
    from_advisor: str | None = None  # reassign: whose clients move
    from_clients: int | None = None  # reassign: how many clients that advisor held

    def fairness(self) -> dict[str, float]:
        """Max and min clients and assets per advisor over the books that hold clients."""
        books = [b for b in self.advisors if b.clients]
        if not books:
            return {}
        return {
            "max_clients": max(b.clients for b in books),
            "min_clients": min(b.clients for b in books),
            "max_assets": max(b.assets for b in books),
            "min_assets": min(b.assets for b in books),
        }

    def to_json(self) -> dict[str, Any]:
        moved = {} if self.from_advisor is None else {"from_clients": self.from_clients}
        return {
            **moved,
            "assigned": self.assigned,
            "control": self.control,
            "unassigned": self.unassigned,
            "kept": self.kept,
            "advisors": [
                {
                    "code": b.code,
                    "name": b.name,
                    "branch": b.branch,
                    "clients": b.clients,
                    "new": b.new,
                    "assets": round(b.assets, 2),
                    "median_assets": b.median_assets,
                }
                for b in self.advisors
            ],
            "fairness": self.fairness(),
            "unassigned_by_branch": self.unassigned_by_branch,
            "workbooks": [str(p) for p in self.workbooks],
            "dry_run": self.dry_run,
        }


Progress = Callable[[int], None]


def assign(
    engine: Engine,
    slug: str,
    options: AssignOptions | None = None,
    *,
    progress: Progress | None = None,
) -> AssignSummary:
    """Draw the control group, split the campaign's unassigned clients, issue workbooks."""
    access.require(engine, "access.action.assign")
    options = options or AssignOptions()
    campaign = registry.open_campaign(engine, slug)
    settings = campaign.config.assignment
    holdout = settings.holdout if options.holdout is None else options.holdout
    if not 0.0 <= holdout < 1.0:
        raise ConfigError(t("error.holdout", value=holdout))
    rules = SplitRules(
        keep_owner=settings.keep_owner if options.keep_owner is None else options.keep_owner,
        cross_branch=settings.cross_branch
        if options.cross_branch is None
        else options.cross_branch,
        seed=settings.seed if options.seed is None else options.seed,
    )
    when = _effective_time(campaign, options.assigned_at)
    summary = AssignSummary(campaign=slug, dry_run=options.dry_run)
    with _Scratch(
        options.out_dir or Path("out") / slug, enabled=options.workbooks and not options.dry_run
    ) as scratch:
        with engine.begin() as conn:
            lock_campaign(conn, campaign.id)
            bulk.sqlite_bulk_cache(conn)
            bulk.postgresql_work_mem(conn)
            tune_big_reads(conn)
            active = _active_advisors(conn)
            eligible = _read_eligible(conn, campaign.id, active)
            drawn = _draw(eligible, holdout, rules.seed, campaign) if holdout > 0 else ()
            summary.control = len(drawn)
            candidates, positions = eligible.without(drawn)
            seats = _seats(conn, campaign, active)
            result = split_columns(candidates, seats, rules)
            placed = Counter(result.placed)
            unplaced = placed.pop(-1, 0)
            new_count = {result.codes[i]: n for i, n in placed.items()}
            summary.assigned, summary.kept = sum(new_count.values()), sum(result.kept)
            summary.unassigned = unplaced
            if unplaced:
                names = candidates.branches
                by_branch = Counter(
                    candidates.branch[c] for c, i in enumerate(result.placed) if i < 0
                )
                for b, n in sorted(by_branch.items(), key=lambda item: item[0]):
                    branch = (names[b] if b >= 0 else None) or "?"
                    summary.unassigned_by_branch[branch] = (
                        summary.unassigned_by_branch.get(branch, 0) + n
                    )
            if not options.dry_run:
                _mark_considered(conn, campaign.id)
                _apply(
                    conn,
                    campaign.id,
                    _placements(eligible.ids, positions, result, sorted(drawn)),
                    when,
                    "assign",
                )
            extra: dict[str, list[float]] = defaultdict(list)
            if options.dry_run:  # nothing written: this run's placements are added by hand
                for c, i in enumerate(result.placed):
                    if i >= 0:
                        extra[result.codes[i]].append(candidates.assets[c])
            _finish(conn, campaign, new_count, extra, active, summary, scratch, progress)
        summary.workbooks = scratch.publish(summary.workbooks)
    return summary


def reassign(
    engine: Engine,
    slug: str,
    from_code: str,
    to_code: str | None = None,
    *,
    out_dir: Path | None = None,
    workbooks: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> AssignSummary:
    """Hand the clients of an advisor (who left) to one colleague, or spread them over the branch."""
    access.require(engine, "access.action.reassign")
    campaign = registry.open_campaign(engine, slug)
    summary = AssignSummary(campaign=slug, dry_run=dry_run)
    with _Scratch(out_dir or Path("out") / slug, enabled=workbooks and not dry_run) as scratch:
        with engine.begin() as conn:
            lock_campaign(conn, campaign.id)
            bulk.sqlite_bulk_cache(conn)
            advisors = {row.code: row for row in conn.execute(select(ADVISORS))}
            if from_code not in advisors:
                raise ConfigError(t("error.advisor_unknown", code=from_code))
            rows = conn.execute(
                select(MEMBERS.c.client_id, CLIENTS.c.branch, CLIENTS.c.assets)
                .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
                .where(MEMBERS.c.campaign_id == campaign.id, MEMBERS.c.advisor_code == from_code)
                .order_by(MEMBERS.c.client_id)
            ).all()
            # none is said (a mistyped code?), and --wecom still retries unstarted transfers
            summary.from_advisor, summary.from_clients = from_code, len(rows)
            active = _active_advisors(conn)
            if to_code is not None:
                if to_code not in active or to_code == from_code:
                    raise ConfigError(t("error.reassign_target", code=to_code))
                seats = [s for s in _seats(conn, campaign, active) if s.code == to_code]
                branch = advisors[to_code].branch
                candidates = [Candidate(r.client_id, branch, r.assets or 0.0, None) for r in rows]
                result = split(candidates, seats, SplitRules(keep_owner=False, cross_branch=True))
            else:
                settings = campaign.config.assignment
                seats = [s for s in _seats(conn, campaign, active) if s.code != from_code]
                home = advisors[from_code].branch
                candidates = [Candidate(r.client_id, home, r.assets or 0.0, None) for r in rows]
                result = split(
                    candidates,
                    seats,
                    SplitRules(
                        keep_owner=False, cross_branch=settings.cross_branch, seed=settings.seed
                    ),
                )
            summary.assigned = len(result.assignments)
            summary.unassigned = len(result.unassigned)
            if not dry_run:
                _apply(
                    conn,
                    campaign.id,
                    (
                        (client_id, code, funnel.EVENT_ASSIGNED)
                        for client_id, code in sorted(result.assignments.items())
                    ),
                    utcnow(),
                    "reassign",
                )
            new_count = Counter(result.assignments.values())
            extra: dict[str, list[float]] = defaultdict(list)
            if dry_run:  # nothing written: this run's placements are added by hand
                assets = {r.client_id: r.assets or 0.0 for r in rows}
                for client_id, code in result.assignments.items():
                    extra[code].append(assets[client_id])
            _finish(conn, campaign, new_count, extra, active, summary, scratch, progress)
        summary.workbooks = scratch.publish(summary.workbooks)
    return summary


def _finish(
    conn: Connection,
    campaign: Registered,
    new_count: Mapping[str, int],
    extra: Mapping[str, list[float]],
    active: Mapping[str, Any],
    summary: AssignSummary,
    scratch: _Scratch,
    progress: Progress | None,
) -> None:
    """Issue the receivers' workbooks (into scratch) from the staged placements, tally the
    books (with `extra`, a dry run's placements by advisor); a dry run rolls back."""
    if not summary.dry_run and scratch.enabled:
        summary.workbooks = _issue_staged(conn, campaign, scratch.path, progress, scratch.target)
    if not summary.dry_run:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGED}")
    summary.advisors = _books(conn, campaign.id, new_count, extra, active)
    if summary.dry_run:
        conn.rollback()


# --------------------------------------------------------------------------- reading


def _effective_time(campaign: Registered, assigned_at: dt.datetime | None) -> dt.datetime:
    """When the assignment happens: `assigned_at` (the campaign's wall clock) or now, never
    in the future and never outside the campaign's dates (a 2020 campaign assigned today
    would have every call before its assignment, and the assignment after the end)."""
    config = campaign.config
    moment = utcnow() if assigned_at is None else to_utc(assigned_at, config.tz)
    if assigned_at is not None and moment > utcnow():
        raise ConfigError(t("error.assigned_at_future", value=assigned_at))
    day = local(moment, config.tz).date()
    if not config.start <= day <= config.end:
        key = "error.assigned_now_outside" if assigned_at is None else "error.assigned_at_outside"
        raise ConfigError(
            t(
                key,
                day=day.isoformat(),
                slug=config.slug,
                start=config.start.isoformat(),
                end=config.end.isoformat(),
            )
        )
    return moment


def _eligible_query(campaign_id: int, *columns: Any) -> Select[Any]:
    """`columns` of the members without an advisor, not control, not do-not-call (flag or
    firm-wide list)."""
    on_list = select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "client_id")
    mobile_on_list = select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "mobile")
    return (
        select(*columns)
        .select_from(MEMBERS.join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id))
        .where(
            MEMBERS.c.campaign_id == campaign_id,
            MEMBERS.c.advisor_code.is_(None),
            MEMBERS.c.control.is_(False),
            MEMBERS.c.dnc.is_(False),
            MEMBERS.c.client_id.not_in(on_list),
            func.coalesce(CLIENTS.c.mobile, "").not_in(mobile_on_list),
        )
    )


#: Big reads come a few thousand rows at a time (a server-side cursor on PostgreSQL).
_STREAMED: Final = {"stream_results": True, "yield_per": 20_000}


@dataclass(frozen=True)
class _Eligible:
    """The eligible members as columns in client id order: about 30 bytes a member (8.2M
    members in a quarter of a gigabyte, not several gigabytes of row objects)."""

    ids: _Ids
    #: 1 where no earlier run considered the member
    new: bytearray
    #: 1 where the client's assets are unknown (the split counts them as 0.0)
    no_assets: bytearray
    columns: CandidateColumns

    def without(self, drawn: Sequence[int]) -> tuple[CandidateColumns, array[int] | None]:
        """The candidates once the control group (`drawn`, positions) is taken out, and
        each candidate's position among the eligible (None: the same positions)."""
        if not drawn:
            return self.columns, None
        out = set(drawn)
        kept = array("i", (k for k in range(len(self.columns)) if k not in out))
        columns = self.columns
        return (
            CandidateColumns(
                columns.branches,
                array("i", map(columns.branch.__getitem__, kept)),
                columns.owners,
                array("i", map(columns.owner.__getitem__, kept)),
                array("d", map(columns.assets.__getitem__, kept)),
            ),
            kept,
        )


class _Ids:
    """Client ids as one UTF-8 buffer and where each ends: 8.2M ids in about 130 MB
    instead of 8.2M string objects."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.ends = array("Q", [0])

    def __len__(self) -> int:
        return len(self.ends) - 1

    def __getitem__(self, k: int) -> str:
        return self.text[self.ends[k] : self.ends[k + 1]].decode()

    def extend(self, ids: Sequence[str]) -> None:
        """Add `ids`, which must follow the ids so far in Python's string order: the
        split's positions are client id order, whatever the database's collation."""
        last = self[len(self) - 1] if len(self) else None
        if list(ids) != sorted(ids) or (last is not None and ids[0] <= last):
            raise RuntimeError("the eligible members were not read in client id order")
        encoded = [client_id.encode() for client_id in ids]
        ends = itertools.accumulate(map(len, encoded), initial=self.ends[-1])
        next(ends)  # the start, already there
        self.ends.extend(ends)
        self.text += b"".join(encoded)


class _Positions(dict[Any, int]):
    """Names numbered as first seen (None, and a name not `allowed`: -1)."""

    def __init__(self, allowed: Collection[str] | None = None) -> None:
        super().__init__()
        self.names: list[str] = []
        self.allowed = allowed

    def __missing__(self, name: Any) -> int:
        if name is None or (self.allowed is not None and name not in self.allowed):
            position = -1
        else:
            position = len(self.names)
            self.names.append(name)
        self[name] = position
        return position


def _read_eligible(conn: Connection, campaign_id: int, active: Mapping[str, Any]) -> _Eligible:
    """The eligible members, a few thousand rows at a time, into columns (previous owners
    only when active in the roster)."""
    in_order: Any = MEMBERS.c.client_id
    if not sorts_by_code_point(conn):
        in_order = in_order.collate("C")  # a sort of every eligible member on the server
    query = _eligible_query(
        campaign_id,
        MEMBERS.c.client_id,
        MEMBERS.c.considered_at.is_(None),
        CLIENTS.c.branch,
        CLIENTS.c.assets,
        CLIENTS.c.previous_advisor,
    ).order_by(in_order)
    ids, new, no_assets = _Ids(), bytearray(), bytearray()
    branch, owner, assets = array("i"), array("i"), array("d")
    branches, owners = _Positions(), _Positions(allowed=active)
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    for chunk in streamed_rows(conn, sql, _STREAMED["yield_per"]):
        client_ids, unconsidered, branch_names, amounts, previous = zip(*chunk, strict=True)
        ids.extend(client_ids)
        new.extend(unconsidered)
        no_assets.extend(a is None for a in amounts)
        branch.extend(map(branches.__getitem__, branch_names))
        owner.extend(map(owners.__getitem__, previous))
        assets.extend([a or 0.0 for a in amounts])
    columns = CandidateColumns(branches.names, branch, owners.names, owner, assets)
    return _Eligible(ids, new, no_assets, columns)


def _draw(eligible: _Eligible, share: float, seed: int, campaign: Registered) -> list[int]:
    """The control group among newly considered members, stratified by branch and asset
    band: their positions."""
    band = funnel.asset_bands(campaign.config.asset_edges)
    columns = eligible.columns
    names, ids = columns.branches, eligible.ids
    new = [k for k, is_new in enumerate(eligible.new) if is_new]

    def stratum(k: int) -> str:
        b = columns.branch[k]
        assets = None if eligible.no_assets[k] else columns.assets[k]
        return f"{names[b] if b >= 0 else None}|{band(assets)}"

    drawn = draw_holdout([(ids[k], stratum(k)) for k in new], share, seed)
    return [k for k in new if ids[k] in drawn]


def _active_advisors(conn: Connection) -> dict[str, Any]:
    return {
        row.code: row for row in conn.execute(select(ADVISORS).where(ADVISORS.c.active.is_(True)))
    }


def _seats(conn: Connection, campaign: Registered, active: Mapping[str, Any]) -> list[Seat]:
    """Active advisors with capacity min(roster, campaign max) and what they already hold."""
    held = {
        row.advisor_code: (row.n, row.assets or 0.0)
        for row in conn.execute(
            select(
                MEMBERS.c.advisor_code,
                func.count().label("n"),
                func.sum(CLIENTS.c.assets).label("assets"),
            )
            .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
            .where(MEMBERS.c.campaign_id == campaign.id, MEMBERS.c.advisor_code.is_not(None))
            .group_by(MEMBERS.c.advisor_code)
        )
    }
    campaign_max = campaign.config.assignment.max_per_advisor
    unlimited = 10**9  # neither the roster nor the campaign sets a limit
    seats = []
    for code, advisor in active.items():
        limits = [c for c in (advisor.capacity, campaign_max) if c is not None]
        count, assets = held.get(code, (0, 0.0))
        seats.append(
            Seat(code, advisor.branch, min(limits) if limits else unlimited, count, assets)
        )
    return seats


# --------------------------------------------------------------------------- writing


#: The temporary table of a run's placements: written from, then its workbooks read from.
_STAGED = "stage_assign"


def _placements(
    ids: _Ids, positions: array[int] | None, result: ColumnSplit, control: Sequence[int]
) -> Iterator[tuple[str, str | None, str]]:
    """A run's rows to stage, in client id order: the placed clients with their advisor,
    then the control group (positions among the eligible)."""
    codes = result.codes
    for c, i in enumerate(result.placed):
        if i >= 0:
            yield ids[c if positions is None else positions[c]], codes[i], funnel.EVENT_ASSIGNED
    for k in control:
        yield ids[k], None, funnel.EVENT_CONTROL


def _mark_considered(conn: Connection, campaign_id: int) -> None:
    """Note that this run considered every eligible member no run had (before the
    placements are written, while they are still eligible): one UPDATE, no id list."""
    eligible = _eligible_query(campaign_id, MEMBERS.c.client_id).where(
        MEMBERS.c.considered_at.is_(None)
    )
    conn.execute(
        update(MEMBERS)
        .where(
            MEMBERS.c.campaign_id == campaign_id,
            MEMBERS.c.considered_at.is_(None),
            MEMBERS.c.client_id.in_(eligible.scalar_subquery()),
        )
        .values(considered_at=utcnow())
    )


def _apply(
    conn: Connection,
    campaign_id: int,
    rows: Iterable[tuple[str, str | None, str]],
    when: dt.datetime,
    source: str,
) -> None:
    """Record the run: member's advisor and time, 'assigned'/'control' events, the summary.
    The rows stay staged (`_STAGED`) for the workbooks."""
    count = bulk.stage(
        conn,
        _STAGED,
        {"client_id": "TEXT PRIMARY KEY", "advisor_code": "TEXT", "kind": "TEXT"},
        rows,
    )
    bulk.analyze(conn, _STAGED)
    params = {
        "campaign_id": campaign_id,
        "when": when,
        "by": who(conn),
        "now": utcnow(),
        "source": source,
    }
    typed = [
        bindparam("when", type_=MEMBERS.c.assigned_at.type),
        bindparam("now", type_=MEMBERS.c.assigned_at.type),
    ]
    conn.execute(
        text(
            f"""UPDATE member SET
                  advisor_code = (SELECT s.advisor_code FROM {_STAGED} s WHERE s.client_id = member.client_id),
                  assigned_at = :when
                WHERE campaign_id = :campaign_id
                  AND client_id IN (SELECT client_id FROM {_STAGED} WHERE kind = '{funnel.EVENT_ASSIGNED}')"""
        ).bindparams(*typed[:1]),
        params,
    )
    conn.execute(
        text(
            f"""UPDATE member SET control = true
                WHERE campaign_id = :campaign_id
                  AND client_id IN (SELECT client_id FROM {_STAGED} WHERE kind = '{funnel.EVENT_CONTROL}')"""
        ),
        params,
    )
    with (
        bulk.foreign_keys_checked_once(conn, ["event"], count),
        bulk.indexes_built_after(conn, ["event"], count),
    ):
        conn.execute(
            text(
                f"""INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code,
                                      source, recorded_by, recorded_at)
                   SELECT :campaign_id, client_id, kind, advisor_code, :when, advisor_code, :source, :by, :now
                   FROM {_STAGED} ORDER BY client_id"""  # key order: event indexes fill in sequence
            ).bindparams(*typed),
            params,
        )
    stages.refresh_selected(conn, campaign_id, f"SELECT client_id FROM {_STAGED}", {})


def issue_workbooks(
    conn: Connection,
    campaign: Registered,
    selections: Mapping[str, Sequence[str]],
    out_dir: Path,
    progress: Progress | None = None,
    followups: Mapping[str, WorkbookFollowup] | None = None,
) -> list[Path]:
    """Write one signed workbook per advisor holding `selections[code]` (client ids) into
    `out_dir/<branch>/`, record each issue, and return the paths written (issue numbers
    continue from the advisor's last workbook in this campaign). `followups` (client id ->
    why and the calls so far) makes them follow-up workbooks."""
    if not selections:
        return []
    run = _IssueRun.read(conn, campaign)
    wanted = {client_id for ids in selections.values() for client_id in ids}
    clients = _workbook_clients(
        conn, wanted, campaign.config.asset_edges, campaign.config.dormancy.as_of, run.products
    )
    books = ((code, [clients[i] for i in selections[code]]) for code in sorted(selections))
    return _write_books(conn, run, books, out_dir, progress, followups=followups or {})


def _issue_staged(
    conn: Connection,
    campaign: Registered,
    out_dir: Path,
    progress: Progress | None,
    final_dir: Path,
) -> list[Path]:
    """The workbooks of the run's placements (`_STAGED`), an advisor's as soon as their rows
    are read: the rows come in advisor and client id order, so one book is held at a time."""
    run = _IssueRun.read(conn, campaign)
    c = CLIENTS.c
    staged = table(_STAGED, column("client_id"), column("advisor_code"), column("kind")).c
    by_code: Any = staged.advisor_code
    by_id: Any = staged.client_id
    if conn.dialect.name == "postgresql":  # code point order, as Python sorts them
        by_code, by_id = by_code.collate("C"), by_id.collate("C")
    rows = conn.execute(
        select(
            staged.advisor_code,
            c.client_id,
            c.name,
            c.mobile,
            c.branch,
            c.assets,
            c.last_trade_date,
            c.risk,
        )
        .join(CLIENTS, c.client_id == staged.client_id)
        .where(staged.kind == funnel.EVENT_ASSIGNED)
        .order_by(by_code, by_id),
        execution_options=_STREAMED,
    )
    books = (
        (code, [run.client(row[1:]) for row in group])
        for code, group in itertools.groupby(rows, key=itemgetter(0))
    )
    return _write_books(conn, run, books, out_dir, progress, final_dir=final_dir)


def _write_books(
    conn: Connection,
    run: _IssueRun,
    books: Iterable[tuple[str, list[WorkbookClient]]],
    out_dir: Path,
    progress: Progress | None,
    final_dir: Path | None = None,
    followups: Mapping[str, WorkbookFollowup] | None = None,
) -> list[Path]:
    """Write each advisor's book (code, its clients in client id order) into `out_dir`;
    record them where they will live (`final_dir`, when they are written to a scratch
    folder first and moved after the commit)."""
    written: list[Path] = []
    issue_rows = []
    for code, clients in books:
        spec = run.spec(code, clients, followups or {})
        name = f"{code}-{_safe(spec.advisor_name)}-{spec.issue:02d}.xlsx"
        path = out_dir / _safe(spec.branch) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # a scratch folder (`final_dir`) is moved into place whole: no book of it needs a
        # temporary file of its own
        write_advisor_workbook(path, spec, run.secret, atomic=final_dir is None)
        written.append(path)
        ids = [client.client_id for client in clients]
        issue_rows.append(
            run.issue_row(spec, ids, (final_dir or out_dir) / path.relative_to(out_dir))
        )
        if progress is not None:
            progress(len(ids))
    bulk.upsert(conn, WORKBOOK_ISSUES, issue_rows, ["campaign_id", "advisor_code", "issue"])
    return written


@dataclass(frozen=True)
class _IssueRun:
    """What every workbook of one issue run draws on, read from the database once."""

    campaign: Registered
    secret: bytes
    products: tuple[WorkbookProduct, ...]
    links: Mapping[str, str]  # advisor code -> the advisor's campaign QR link
    client_links: Mapping[str, str]  # client id -> the client's own QR link
    advisors: Mapping[str, Any]
    last_issue: Mapping[str, int]  # advisor code -> their last workbook's issue number
    now: dt.datetime
    #: a client's row (id, name, mobile, branch, assets, last trade, risk) -> its workbook row
    client: Callable[[Sequence[Any]], WorkbookClient]

    @classmethod
    def read(cls, conn: Connection, campaign: Registered) -> _IssueRun:
        """Gather the run's shared facts (in one transaction with the issue records)."""
        config = campaign.config
        products = tuple(WorkbookProduct(p.code, p.name, p.risk) for p in config.products)
        return cls(
            campaign=campaign,
            secret=workbook_secret(conn),
            products=products,
            links=_contact_ways(conn, campaign.id, per_client=False),
            client_links=_contact_ways(conn, campaign.id, per_client=True),
            advisors={row.code: row for row in conn.execute(select(ADVISORS))},
            last_issue=_last_issues(conn, campaign.id),
            now=utcnow(),
            client=_client_row(config.asset_edges, config.dormancy.as_of, products),
        )

    def spec(
        self,
        code: str,
        clients: Sequence[WorkbookClient],
        followups: Mapping[str, WorkbookFollowup],
    ) -> WorkbookSpec:
        """The next workbook of advisor `code`, holding `clients` (with why they are
        followed up, where `followups` says)."""
        config = self.campaign.config
        advisor = self.advisors[code]
        return WorkbookSpec(
            campaign_slug=config.slug,
            campaign_name=config.name,
            advisor_code=code,
            advisor_name=advisor.name,
            branch=advisor.branch,
            issue=int(self.last_issue.get(code) or 0) + 1,
            issued_at=self.now,
            timezone=config.timezone,
            dispositions=config.dispositions,
            products=self.products,
            clients=tuple(
                dataclasses.replace(
                    client,
                    contact_link=self.client_links.get(client.client_id),
                    followup=followups.get(client.client_id),
                )
                if client.client_id in self.client_links or client.client_id in followups
                else client
                for client in clients
            ),
            contact_link=self.links.get(code),
        )

    def issue_row(self, spec: WorkbookSpec, ids: list[str], path: Path) -> dict[str, Any]:
        """The `workbook_issue` record of `spec`, written to `path`."""
        return {
            "campaign_id": self.campaign.id,
            "advisor_code": spec.advisor_code,
            "issue": spec.issue,
            "issued_at": self.now,
            "clients": len(ids),
            "digest": stamp_digest(
                self.secret, spec.campaign_slug, spec.advisor_code, spec.issue, ids
            ),
            "path": str(path),
        }


def _contact_ways(conn: Connection, campaign_id: int, *, per_client: bool) -> dict[str, str]:
    """The campaign's live WeCom 「联系我」 QR links: each advisor's (made by `reactivate wecom
    qr`), or with `per_client` each client's own (`reactivate wecom qr --per-client`)."""
    ways = WECOM_WAYS.c
    return dict(
        conn.execute(
            select(ways.client_id if per_client else ways.advisor_code, ways.qr_code).where(
                ways.campaign_id == campaign_id,
                ways.client_id.is_not(None) if per_client else ways.client_id.is_(None),
                ways.removed_at.is_(None),
            )
        ).all()
    )


def _last_issues(conn: Connection, campaign_id: int) -> dict[str, int]:
    """Each advisor's last workbook issue number in the campaign."""
    return dict(
        conn.execute(
            select(WORKBOOK_ISSUES.c.advisor_code, func.max(WORKBOOK_ISSUES.c.issue))
            .where(WORKBOOK_ISSUES.c.campaign_id == campaign_id)
            .group_by(WORKBOOK_ISSUES.c.advisor_code)
        ).all()
    )


def _workbook_clients(
    conn: Connection,
    client_ids: set[str],
    edges: tuple[float, ...],
    as_of: dt.date,
    products: tuple[WorkbookProduct, ...],
) -> dict[str, WorkbookClient]:
    """The workbook rows of `client_ids`, read in one query through a staged id list."""
    bulk.stage(
        conn, "stage_workbook", {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in client_ids)
    )
    wanted = table("stage_workbook", column("client_id")).c.client_id
    rows = conn.execute(
        select(
            CLIENTS.c.client_id,
            CLIENTS.c.name,
            CLIENTS.c.mobile,
            CLIENTS.c.branch,
            CLIENTS.c.assets,
            CLIENTS.c.last_trade_date,
            CLIENTS.c.risk,
        ).where(CLIENTS.c.client_id.in_(select(wanted)))
    ).all()
    conn.exec_driver_sql("DROP TABLE stage_workbook")
    client = _client_row(edges, as_of, products)
    return {row[0]: client(row) for row in rows}


def _client_row(
    edges: tuple[float, ...], as_of: dt.date, products: tuple[WorkbookProduct, ...]
) -> Callable[[Sequence[Any]], WorkbookClient]:
    """A client's row (id, name, mobile, branch, assets, last trade, risk) -> its workbook
    row: the asset band in Chinese (the workbook is), days dormant, suitable products."""
    suitable = {risk: tuple(p.code for p in products if p.risk <= risk) for risk in range(1, 6)}
    band = funnel.asset_bands(edges, chinese=True)

    def client(row: Sequence[Any]) -> WorkbookClient:
        client_id, name, mobile, branch, assets, last_trade, risk = row
        return WorkbookClient(
            client_id=client_id,
            name=name,
            mobile=mobile,
            branch=branch,
            asset_band=band(assets),
            days_dormant=(as_of - last_trade).days if last_trade else None,
            risk=risk,
            suitable_products=suitable.get(risk, ()) if risk else (),
        )

    return client


def _safe(text_: str) -> str:
    """A file-name-safe version of a name (branch and advisor names become folder/file names)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text_).strip("_") or "_"


def _books(
    conn: Connection,
    campaign_id: int,
    new_count: Mapping[str, int],
    extra: Mapping[str, list[float]],
    active: Mapping[str, Any],
) -> list[AdvisorBook]:
    """Each advisor's book after the run, read an advisor at a time (`extra`: assets a dry
    run placed, added by hand)."""
    rows = conn.execute(
        select(MEMBERS.c.advisor_code, CLIENTS.c.assets)
        .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
        .where(MEMBERS.c.campaign_id == campaign_id, MEMBERS.c.advisor_code.is_not(None))
        .order_by(MEMBERS.c.advisor_code),
        execution_options=_STREAMED,
    )
    books: dict[str, AdvisorBook] = {}

    def book(code: str, values: list[float]) -> None:
        advisor = active.get(code)
        books[code] = AdvisorBook(
            code=code,
            name=advisor.name if advisor else "",
            branch=advisor.branch if advisor else "",
            clients=len(values),
            new=new_count.get(code, 0),
            assets=float(sum(values)),
            median_assets=float(statistics.median(values)) if values else None,
        )

    for code, group in itertools.groupby(rows, key=itemgetter(0)):
        book(code, [assets or 0.0 for _, assets in group] + extra.get(code, []))
    for code in set(extra) | set(active):
        if code not in books:
            book(code, list(extra.get(code, [])))
    return [books[code] for code in sorted(books)]


class _Scratch:
    """Workbooks are written to a scratch folder and moved into place only after the commit."""

    def __init__(self, target: Path, enabled: bool) -> None:
        self.target = target
        self.enabled = enabled
        self.path = Path()

    def __enter__(self) -> _Scratch:
        if self.enabled:
            self.target.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".issuing-", dir=self.target))
        return self

    def publish(self, written: list[Path]) -> list[Path]:
        """Move the written workbooks from scratch to the target folder; returns their new paths."""
        published = []
        for path in written:
            final = self.target / path.relative_to(self.path)
            final.parent.mkdir(parents=True, exist_ok=True)
            path.replace(final)
            published.append(final)
        return published

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            shutil.rmtree(self.path, ignore_errors=True)
