"""`reactivate demo`: the whole campaign on the sample data, replayed as it happened.

Registers the sample campaign, loads the roster, the do-not-call list and the dormant
accounts, assigns at the campaign's start, fills each advisor's workbook with a seeded
simulation of their work (dated inside the campaign), uploads the workbooks and builds
the report. The simulation is labelled as such wherever the demo shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from reactivate import registry
from reactivate.activity import ActivitySummary, load_activity
from reactivate.assign import AssignOptions, AssignSummary, assign
from reactivate.clock import local
from reactivate.db.models import CLIENT_STAGES, CLIENTS, MEMBERS
from reactivate.demo.simulate import (
    ClientToWork,
    WorkResult,
    rates_for,
    simulate,
    simulate_activity,
)
from reactivate.donotcall import load_dnc
from reactivate.errors import StateError
from reactivate.load import LoadSummary, load_accounts
from reactivate.messages import t
from reactivate.report import Report, ReportOptions, build_report
from reactivate.roster import load_roster
from reactivate.rules import funnel
from reactivate.rules.campaign import Campaign
from reactivate.sheets.fill import fill_workbook
from reactivate.sheets.workbook import (
    YES,
    WorkbookProduct,
    disposition_label,
    product_label,
    read_stamp,
)
from reactivate.upload import UploadSummary, upload

SLUG = "2020h2-dormant"
HOLDOUT = 0.1
SEED = 2020


@dataclass(frozen=True)
class DemoInputs:
    """The files the demo runs on; by default the sample shipped inside the package."""

    campaign_file: Path
    roster: Path
    do_not_call: Path
    accounts: Path


@contextmanager
def sample_inputs() -> Iterator[DemoInputs]:
    """The shipped sample (reactivate/demo/sample, the same files as the repository's
    campaigns/ and data/) as files on disk, wherever the package is installed."""
    sample = resources.files("reactivate.demo") / "sample"
    with ExitStack() as stack:

        def file(name: str) -> Path:
            return stack.enter_context(resources.as_file(sample / name))

        yield DemoInputs(
            campaign_file=file("2020h2-dormant.toml"),
            roster=file("advisors.xlsx"),
            do_not_call=file("do_not_call.csv"),
            accounts=file("dormant_accounts.xlsx"),
        )


@dataclass
class DemoResult:
    load: LoadSummary
    assignment: AssignSummary
    workbooks: list[Path] = field(default_factory=list)
    simulated_rows: int = 0
    upload: UploadSummary | None = None
    activity: ActivitySummary | None = None
    report: Report | None = None


Step = Callable[[str], None]


def new_database_file(db: str) -> Path | None:
    """The SQLite file `db` names when it does not exist yet (the demo will create it)."""
    from sqlalchemy.engine import make_url

    from reactivate.db.engine import resolve_url

    url = make_url(resolve_url(db))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


@contextmanager
def discarded_on_failure(created: Path | None) -> Iterator[None]:
    """Delete the database file the demo `created` (and its -wal, -shm) when the demo fails
    or is interrupted: a half-made demo database would only be refused by the next run."""
    try:
        yield
    except BaseException:
        if created is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                created.with_name(created.name + suffix).unlink(missing_ok=True)
        raise


def run_demo(
    engine: Engine, out_dir: Path, inputs: DemoInputs | None = None, step: Step | None = None
) -> DemoResult:
    """Run the whole job on the sample data (`inputs`: the shipped sample); `step` is told
    each stage's name as it starts."""
    if inputs is None:
        with sample_inputs() as sample:
            return run_demo(engine, out_dir, sample, step)
    say = step or (lambda _name: None)
    with engine.connect() as conn:
        if conn.execute(select(MEMBERS.c.campaign_id).limit(1)).first() is not None:
            raise StateError(t("error.demo_not_fresh", url=engine.url.render_as_string()))
    say(t("demo.step.load"))
    campaign_config, _ = registry.register(engine, inputs.campaign_file)
    load_roster(engine, inputs.roster)
    load_dnc(engine, inputs.do_not_call)
    loaded = load_accounts(engine, SLUG, inputs.accounts)

    say(t("demo.step.assign"))
    start = dt.datetime.combine(campaign_config.start, dt.time(9, 0))
    assigned = assign(
        engine,
        SLUG,
        AssignOptions(holdout=HOLDOUT, assigned_at=start, out_dir=out_dir / "workbooks", seed=SEED),
    )

    say(t("demo.step.simulate"))
    rows = simulate_workbooks(engine, campaign_config, assigned.workbooks, seed=SEED)
    say(t("demo.step.upload"))
    uploaded = upload(engine, SLUG, assigned.workbooks)

    say(t("demo.step.activity"))
    activity_file = out_dir / "activity_simulated.csv"
    _write_activity(engine, campaign_config, activity_file)
    activity = load_activity(engine, activity_file, campaign=SLUG)

    return DemoResult(
        load=loaded,
        assignment=assigned,
        workbooks=assigned.workbooks,
        simulated_rows=rows,
        upload=uploaded,
        activity=activity,
        report=build_report(engine, SLUG, ReportOptions(by="advisor")),
    )


def simulate_workbooks(
    engine: Engine, campaign: Campaign, workbooks: Sequence[Path], seed: int = SEED
) -> int:
    """Fill each issued workbook with a seeded simulation of its advisor's work, dated inside
    the campaign and after each client's assignment; returns the rows filled."""
    tz = campaign.tz
    until = dt.datetime.combine(campaign.end, dt.time(18, 0), tzinfo=tz)
    labels = {
        p.code: product_label(WorkbookProduct(p.code, p.name, p.risk)) for p in campaign.products
    }
    rows = 0
    for path in workbooks:
        stamp = read_stamp(path)
        assert stamp is not None  # the workbook was issued
        work = simulate(
            _clients(engine, stamp.client_ids, campaign.products),
            rates_for(campaign.targets),
            until,
            seed=seed + hash_advisor(stamp.advisor),
            max_attempts=campaign.followup.max_attempts,
        )
        rows += fill_workbook(path, {w.client_id: _row(w, tz, labels) for w in work})
    return rows


def _write_activity(engine: Engine, campaign: Campaign, path: Path) -> None:
    """A simulated later export from the core system (who traded again), as a CSV."""
    stage = CLIENT_STAGES
    with engine.connect() as conn:
        rows = conn.execute(
            select(stage.c.client_id, stage.c.control, stage.c.reached_at, stage.c.converted_at)
        ).all()
    reach = [
        (
            r.client_id,
            "control"
            if r.control
            else "converted"
            if r.converted_at
            else "reached"
            if r.reached_at
            else "untouched",
        )
        for r in rows
    ]
    traded = simulate_activity(reach, campaign.start, campaign.end, seed=SEED)
    path.write_text(
        "客户号,最后交易日期\n" + "".join(f"{c},{d.isoformat()}\n" for c, d in traded),
        encoding="utf-8-sig",
    )


def hash_advisor(code: str) -> int:
    """A stable number per advisor, so each advisor's simulated work differs yet repeats."""
    return int(sum(ord(ch) * 31**i for i, ch in enumerate(code)) % 100_000)


def _clients(engine: Engine, client_ids: tuple[str, ...], products: Any) -> list[ClientToWork]:
    members = MEMBERS
    clients = CLIENTS
    with engine.connect() as conn:
        rows = conn.execute(
            select(members.c.client_id, members.c.assigned_at, clients.c.risk)
            .join(clients, clients.c.client_id == members.c.client_id)
            .where(members.c.client_id.in_(client_ids))
        ).all()
    return [
        ClientToWork(
            client_id=row.client_id,
            assigned_at=local(row.assigned_at, ZoneInfo("UTC")),
            suitable_products=tuple(p.code for p in products if row.risk and p.risk <= row.risk),
        )
        for row in rows
    ]


def _row(work: WorkResult, tz: Any, labels: dict[str, str]) -> dict[str, object]:
    """The workbook cells an advisor would fill for `work`, times on the campaign's wall clock."""

    def wall(moment: dt.datetime | None) -> dt.datetime | None:
        return moment.astimezone(tz).replace(tzinfo=None) if moment else None

    last = work.last_call
    assert last is not None
    cells: dict[str, object] = {
        "通话时间": wall(last.at),
        "通话结果": disposition_label(last.disposition),
        "拨打次数": len(work.calls),
    }
    if work.callback_at:
        cells["预约回电时间"] = wall(work.callback_at)
    if work.wecom_added_at:
        cells["是否添加企业微信"] = YES
        cells["添加时间"] = wall(work.wecom_added_at)
    if work.product:
        cells["推送产品"] = labels.get(work.product, work.product)
        cells["推送时间"] = wall(work.pushed_at)
    if work.converted_at:
        cells["是否转化"] = YES
        cells["转化时间"] = wall(work.converted_at)
    if last.disposition == funnel.DO_NOT_CALL:
        cells["备注"] = "客户要求不再联系"
    return cells
