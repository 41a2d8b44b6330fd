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
import shutil
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, column, func, select, table

from reactivate import access, registry
from reactivate.clock import local, to_utc, utcnow
from reactivate.db import bulk, stages
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
from reactivate.rules.split import Candidate, Seat, SplitRules, draw_holdout, split
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
            eligible = _eligible(conn, campaign.id)
            new = [c for c in eligible if c.considered_at is None]
            drawn = _draw(new, holdout, rules.seed, campaign) if holdout > 0 else frozenset()
            summary.control = len(drawn)
            active = _active_advisors(conn)
            candidates = [
                Candidate(
                    client_id=c.client_id,
                    branch=c.branch,
                    assets=c.assets or 0.0,
                    owner=c.previous_advisor if c.previous_advisor in active else None,
                )
                for c in eligible
                if c.client_id not in drawn
            ]
            seats = _seats(conn, campaign, active)
            result = split(candidates, seats, rules)
            summary.assigned, summary.kept = len(result.assignments), len(result.kept)
            summary.unassigned = len(result.unassigned)
            branch_of = {c.client_id: c.branch or "?" for c in eligible}
            for client_id in result.unassigned:
                branch = branch_of[client_id]
                summary.unassigned_by_branch[branch] = (
                    summary.unassigned_by_branch.get(branch, 0) + 1
                )
            if not options.dry_run:
                _apply(
                    conn,
                    campaign.id,
                    result.assignments,
                    drawn,
                    [c.client_id for c in new],
                    when,
                    "assign",
                )
            _finish(conn, campaign, result.assignments, active, summary, scratch, progress)
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
                _apply(conn, campaign.id, result.assignments, frozenset(), [], utcnow(), "reassign")
            _finish(conn, campaign, result.assignments, active, summary, scratch, progress)
        summary.workbooks = scratch.publish(summary.workbooks)
    return summary


def _finish(
    conn: Connection,
    campaign: Registered,
    assignments: Mapping[str, str],
    active: Mapping[str, Any],
    summary: AssignSummary,
    scratch: _Scratch,
    progress: Progress | None,
) -> None:
    """Issue the receivers' workbooks (into scratch), tally the books; a dry run rolls back."""
    if not summary.dry_run and scratch.enabled:
        summary.workbooks = _issue(
            conn,
            campaign,
            _by_advisor(assignments),
            scratch.path,
            progress,
            final_dir=scratch.target,
        )
    summary.advisors = _books(conn, campaign.id, assignments, active, dry_run=summary.dry_run)
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


def _eligible(conn: Connection, campaign_id: int) -> Sequence[Any]:
    """Members without an advisor, not control, not do-not-call (flag or firm-wide list)."""
    on_list = select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "client_id")
    mobile_on_list = select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "mobile")
    query = (
        select(
            MEMBERS.c.client_id,
            MEMBERS.c.considered_at,
            CLIENTS.c.branch,
            CLIENTS.c.assets,
            CLIENTS.c.previous_advisor,
        )
        .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
        .where(
            MEMBERS.c.campaign_id == campaign_id,
            MEMBERS.c.advisor_code.is_(None),
            MEMBERS.c.control.is_(False),
            MEMBERS.c.dnc.is_(False),
            MEMBERS.c.client_id.not_in(on_list),
            func.coalesce(CLIENTS.c.mobile, "").not_in(mobile_on_list),
        )
        .order_by(MEMBERS.c.client_id)
    )
    return conn.execute(query).all()  # rows with attribute access; no dict per client


def _draw(new: Sequence[Any], share: float, seed: int, campaign: Registered) -> frozenset[str]:
    """The control group among newly considered members, stratified by branch and asset band."""
    band = funnel.asset_bands(campaign.config.asset_edges)
    strata = [(c.client_id, f"{c.branch}|{band(c.assets)}") for c in new]
    return draw_holdout(strata, share, seed)


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


def _apply(
    conn: Connection,
    campaign_id: int,
    assignments: Mapping[str, str],
    control: frozenset[str],
    considered: Sequence[str],
    when: dt.datetime,
    source: str,
) -> None:
    """Record the run: member's advisor and time, 'assigned'/'control' events, the summary."""
    rows: list[tuple[str, str | None, str]] = [
        (client_id, code, funnel.EVENT_ASSIGNED) for client_id, code in assignments.items()
    ]
    rows += [(client_id, None, funnel.EVENT_CONTROL) for client_id in control]
    bulk.stage(
        conn,
        "stage_assign",
        {"client_id": "TEXT PRIMARY KEY", "advisor_code": "TEXT", "kind": "TEXT"},
        rows,
    )
    params = {
        "campaign_id": campaign_id,
        "when": when,
        "by": who(conn),
        "now": utcnow(),
        "source": source,
    }
    from sqlalchemy import bindparam, text

    typed = [
        bindparam("when", type_=MEMBERS.c.assigned_at.type),
        bindparam("now", type_=MEMBERS.c.assigned_at.type),
    ]
    conn.execute(
        text(
            f"""UPDATE member SET
                  advisor_code = (SELECT s.advisor_code FROM stage_assign s WHERE s.client_id = member.client_id),
                  assigned_at = :when
                WHERE campaign_id = :campaign_id
                  AND client_id IN (SELECT client_id FROM stage_assign WHERE kind = '{funnel.EVENT_ASSIGNED}')"""
        ).bindparams(*typed[:1]),
        params,
    )
    conn.execute(
        text(
            f"""UPDATE member SET control = true
                WHERE campaign_id = :campaign_id
                  AND client_id IN (SELECT client_id FROM stage_assign WHERE kind = '{funnel.EVENT_CONTROL}')"""
        ),
        params,
    )
    conn.execute(
        text(
            """INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code,
                                  source, recorded_by, recorded_at)
               SELECT :campaign_id, client_id, kind, advisor_code, :when, advisor_code, :source, :by, :now
               FROM stage_assign ORDER BY client_id"""  # key order: event indexes fill in sequence
        ).bindparams(*typed),
        params,
    )
    if considered:
        bulk.stage(
            conn, "stage_considered", {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in considered)
        )
        conn.execute(
            text(
                """UPDATE member SET considered_at = :now
                   WHERE campaign_id = :campaign_id
                     AND client_id IN (SELECT client_id FROM stage_considered)"""
            ).bindparams(typed[1]),
            params,
        )
        conn.exec_driver_sql("DROP TABLE stage_considered")
    conn.exec_driver_sql("DROP TABLE stage_assign")
    stages.refresh(conn, campaign_id, [r[0] for r in rows])


def _by_advisor(assignments: Mapping[str, str]) -> dict[str, list[str]]:
    books: dict[str, list[str]] = defaultdict(list)
    for client_id, code in sorted(assignments.items()):
        books[code].append(client_id)
    return books


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
    return _issue(conn, campaign, selections, out_dir, progress, followups=followups)


def _issue(
    conn: Connection,
    campaign: Registered,
    selections: Mapping[str, Sequence[str]],
    out_dir: Path,
    progress: Progress | None,
    final_dir: Path | None = None,
    followups: Mapping[str, WorkbookFollowup] | None = None,
) -> list[Path]:
    """Write the workbooks into `out_dir`; record them where they will live (`final_dir`,
    when they are written to a scratch folder first and moved after the commit)."""
    if not selections:
        return []
    run = _IssueRun.read(conn, campaign, selections)
    written: list[Path] = []
    issue_rows = []
    for code in sorted(selections):
        ids = list(selections[code])
        spec = run.spec(code, ids, followups or {})
        name = f"{code}-{_safe(spec.advisor_name)}-{spec.issue:02d}.xlsx"
        path = out_dir / _safe(spec.branch) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_advisor_workbook(path, spec, run.secret)
        written.append(path)
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
    clients: Mapping[str, WorkbookClient]
    now: dt.datetime

    @classmethod
    def read(
        cls, conn: Connection, campaign: Registered, selections: Mapping[str, Sequence[str]]
    ) -> _IssueRun:
        """Gather the run's shared facts (in one transaction with the issue records)."""
        config = campaign.config
        products = tuple(WorkbookProduct(p.code, p.name, p.risk) for p in config.products)
        wanted = {client_id for ids in selections.values() for client_id in ids}
        return cls(
            campaign=campaign,
            secret=workbook_secret(conn),
            products=products,
            links=_contact_ways(conn, campaign.id, per_client=False),
            client_links=_contact_ways(conn, campaign.id, per_client=True),
            advisors={row.code: row for row in conn.execute(select(ADVISORS))},
            last_issue=_last_issues(conn, campaign.id),
            clients=_workbook_clients(
                conn, wanted, config.asset_edges, config.dormancy.as_of, products
            ),
            now=utcnow(),
        )

    def spec(
        self, code: str, ids: Sequence[str], followups: Mapping[str, WorkbookFollowup]
    ) -> WorkbookSpec:
        """The next workbook of advisor `code`, holding the clients `ids` (with why they
        are followed up, where `followups` says)."""
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
                    self.clients[i],
                    contact_link=self.client_links.get(i),
                    followup=followups.get(i),
                )
                if i in self.client_links or i in followups
                else self.clients[i]
                for i in ids
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
    suitable = {risk: tuple(p.code for p in products if p.risk <= risk) for risk in range(1, 6)}
    band = funnel.asset_bands(edges, chinese=True)  # the workbook is Chinese
    return {
        client_id: WorkbookClient(
            client_id=client_id,
            name=name,
            mobile=mobile,
            branch=branch,
            asset_band=band(assets),
            days_dormant=(as_of - last_trade).days if last_trade else None,
            risk=risk,
            suitable_products=suitable.get(risk, ()) if risk else (),
        )
        for client_id, name, mobile, branch, assets, last_trade, risk in rows
    }


def _safe(text_: str) -> str:
    """A file-name-safe version of a name (branch and advisor names become folder/file names)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text_).strip("_") or "_"


def _books(
    conn: Connection,
    campaign_id: int,
    new: Mapping[str, str],
    active: Mapping[str, Any],
    *,
    dry_run: bool,
) -> list[AdvisorBook]:
    """Each advisor's book after the run (a dry run adds this run's placements by hand)."""
    assets_by_advisor: dict[str, list[float]] = defaultdict(list)
    for code, assets in conn.execute(
        select(MEMBERS.c.advisor_code, CLIENTS.c.assets)
        .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
        .where(MEMBERS.c.campaign_id == campaign_id, MEMBERS.c.advisor_code.is_not(None))
    ):
        assets_by_advisor[code].append(assets or 0.0)
    new_count: dict[str, int] = defaultdict(int)
    for code in new.values():
        new_count[code] += 1
    if dry_run:
        client_assets = _assets_of(conn, list(new))
        for client_id, code in new.items():
            assets_by_advisor[code].append(client_assets.get(client_id, 0.0))
    books = []
    for code in sorted(set(assets_by_advisor) | set(active)):
        values = assets_by_advisor.get(code, [])
        advisor = active.get(code)
        books.append(
            AdvisorBook(
                code=code,
                name=advisor.name if advisor else "",
                branch=advisor.branch if advisor else "",
                clients=len(values),
                new=new_count.get(code, 0),
                assets=float(sum(values)),
                median_assets=float(statistics.median(values)) if values else None,
            )
        )
    return books


def _assets_of(conn: Connection, client_ids: list[str]) -> dict[str, float]:
    result: dict[str, float] = {}
    for start in range(0, len(client_ids), 10_000):
        chunk = client_ids[start : start + 10_000]
        for client_id, assets in conn.execute(
            select(CLIENTS.c.client_id, CLIENTS.c.assets).where(CLIENTS.c.client_id.in_(chunk))
        ):
            result[client_id] = assets or 0.0
    return result


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
