"""A generated campaign the report tests share: seeded clients and events, inserted with plain SQL."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from helpers import CAMPAIGN_FILE
from sqlalchemy import Engine
from typer.testing import CliRunner

from reactivate import registry
from reactivate.cli import app
from reactivate.db import models as tables
from reactivate.db import stages
from reactivate.db.engine import open_engine
from reactivate.rules import funnel

SH = ZoneInfo("Asia/Shanghai")
SLUG = "2020h2-dormant"
STAGES = funnel.STAGES
AS_OF = dt.datetime(2020, 8, 20, tzinfo=dt.UTC)
EDGES = funnel.DEFAULT_ASSET_EDGES
#: assignment runs: a Monday 00:30 in Shanghai is still Sunday in UTC (the week is local)
RUNS = [
    dt.datetime(2020, 7, 1, 9, 0, tzinfo=SH),
    dt.datetime(2020, 7, 6, 0, 30, tzinfo=SH),
    dt.datetime(2020, 7, 15, 14, 0, tzinfo=SH),
]
ADVISORS = {
    "A001": ("王芳", "一部"),
    "A002": ("李强", "一部"),
    "A003": ("张伟", "二部"),
    "A004": ("赵敏", "二部"),
}
SILENT = "A004"  # has clients, never uploads


@dataclass
class Ev:
    id: int
    client: str
    stage: str
    at: dt.datetime
    value: str | None = None
    source: str = "upload"
    advisor: str | None = None
    voids: int | None = None


@dataclass
class Data:
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[Ev] = field(default_factory=list)


def generate(seed: int, n: int = 70, control: bool = True) -> Data:
    rng = random.Random(seed)
    data = Data()
    next_id = iter(range(1, 10_000))
    for i in range(n):
        cid = f"00{seed:02d}{i:06d}"
        data.clients[cid] = {
            "client_id": cid,
            "name": rng.choice(["张三", "欧阳娜娜", "李四"]),
            "mobile": f"138{rng.randrange(10**8):08d}",
            "branch": rng.choice(["一部", "二部", None]),
            "assets": rng.choice([None, 500.0, 10_000.0, 42_000.0, 99_999.0, 250_000.0, 900_000.0]),
            "risk": rng.choice([None, 1, 2, 3, 4, 5]),
        }
        kind = rng.random()
        is_control = control and kind < 0.15
        advisor = None if is_control or kind < 0.22 else rng.choice(list(ADVISORS))
        assigned_at = rng.choice(RUNS) if advisor else None
        data.members[cid] = {
            "client_id": cid,
            "advisor": advisor,
            "assigned_at": assigned_at,
            "control": is_control,
            "dnc": rng.random() < 0.05,
        }
        uploader = None if advisor == SILENT else advisor
        base = assigned_at or RUNS[0]

        def at(hours: float, base: dt.datetime = base) -> dt.datetime:
            return (base + dt.timedelta(hours=hours)).astimezone(dt.UTC)

        def add(
            stage: str,
            when: dt.datetime,
            value: str | None = None,
            source: str = "upload",
            cid: str = cid,
            uploader: str | None = uploader,
        ) -> Ev:
            event = Ev(
                next(next_id),
                cid,
                stage,
                when,
                value,
                source,
                uploader if source == "upload" else None,
            )
            data.events.append(event)
            return event

        if advisor:
            add(funnel.EVENT_ASSIGNED, at(0), advisor, "assign")
        if advisor and rng.random() < 0.8:
            hour = rng.uniform(1, 200)
            for _ in range(rng.randint(1, 4)):
                disposition = rng.choice(funnel.DISPOSITIONS)
                add(funnel.EVENT_CALL, at(hour), disposition)
                if rng.random() < 0.15:  # the same call time twice: one attempt, not two
                    add(funnel.EVENT_CALL, at(hour), rng.choice(funnel.DISPOSITIONS))
                hour += rng.choice([0.5, 3, 26, 70])
            if rng.random() < 0.55:
                wecom_hour = hour + rng.uniform(0, 100)
                add(funnel.EVENT_WECOM, at(wecom_hour))
                if rng.random() < 0.5:
                    add(funnel.EVENT_WECOM, at(wecom_hour + 2), source="wecom")
                if rng.random() < 0.6:
                    add(funnel.EVENT_PUSHED, at(wecom_hour + rng.uniform(1, 300)), "MMF01")
                    if rng.random() < 0.5:
                        add(funnel.EVENT_CONVERTED, at(wecom_hour + rng.uniform(300, 600)), "MMF01")
        if advisor and rng.random() < 0.08:  # skipped stages: later evidence, no call logged
            add(
                rng.choice([funnel.EVENT_WECOM, funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED]),
                at(rng.uniform(5, 400)),
            )
        if advisor and rng.random() < 0.2:  # a mistake, voided later
            stage = rng.choice([funnel.EVENT_CALL, funnel.EVENT_WECOM, funnel.EVENT_CONVERTED])
            wrong = add(
                stage,
                at(rng.uniform(0.2, 50)),
                funnel.CONNECTED if stage == funnel.EVENT_CALL else None,
            )
            void = add(funnel.EVENT_VOID, at(rng.uniform(60, 90)), source="correct")
            void.voids = wrong.id
        if rng.random() < 0.25:
            add(funnel.EVENT_REACTIVATED, at(rng.uniform(100, 900)), "2020-09-01", "activity")
    return data


def insert(engine: Engine, campaign_id: int, data: Data, imports: bool = True) -> None:
    now = dt.datetime(2020, 6, 30, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(tables.BRANCHES.insert(), [{"name": b} for b in ("一部", "二部")])
        conn.execute(
            tables.ADVISORS.insert(),
            [
                {"code": c, "name": n, "branch": b, "active": True, "updated_at": now}
                for c, (n, b) in ADVISORS.items()
            ],
        )
        conn.execute(
            tables.CLIENTS.insert(), [{**c, "updated_at": now} for c in data.clients.values()]
        )
        conn.execute(
            tables.MEMBERS.insert(),
            [
                {
                    "campaign_id": campaign_id,
                    "client_id": m["client_id"],
                    "joined_at": now,
                    "dnc": m["dnc"],
                    "control": m["control"],
                    "advisor_code": m["advisor"],
                    "assigned_at": m["assigned_at"],
                }
                for m in data.members.values()
            ],
        )
        rows = [
            {
                "id": e.id,
                "campaign_id": campaign_id,
                "client_id": e.client,
                "stage": e.stage,
                "value": e.value,
                "occurred_at": e.at,
                "advisor_code": e.advisor,
                "source": e.source,
                "recorded_by": "test",
                "recorded_at": e.at,
                "voids_event_id": None,
            }
            for e in data.events
        ]
        conn.execute(tables.EVENTS.insert(), rows)
        for e in data.events:
            if e.voids is not None:
                conn.execute(
                    tables.EVENTS.update()
                    .where(tables.EVENTS.c.id == e.id)
                    .values(voids_event_id=e.voids)
                )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('event_id_seq', (SELECT MAX(id) FROM event))")
        if imports:
            records = [
                ("refused", {"rejected": 3}),
                ("applied", {"rejected": 2, "applied": 10}),
                ("applied", {}),
            ]
            conn.execute(
                tables.IMPORTS.insert(),
                [
                    {
                        "kind": "results",
                        "campaign_id": campaign_id,
                        "file_name": f"r{i}.xlsx",
                        "sha256": f"{i}",
                        "rows": 10,
                        "counts": json.dumps(counts),
                        "status": status,
                        "run_by": "test",
                        "run_at": now,
                    }
                    for i, (status, counts) in enumerate(records)
                ],
            )
        stages.refresh(conn, campaign_id)


# --- the independent count ----------------------------------------------------------------


def registered(url: str, seed: int, n: int) -> Data:
    """The sample campaign registered in the database at `url`, with `generate(seed, n)`
    inserted; returns the generated data."""
    engine = open_engine(url)
    registry.register(engine, CAMPAIGN_FILE)
    data = generate(seed, n=n)
    insert(engine, registry.get(engine, SLUG).id, data)
    engine.dispose()
    return data


def run(db: str, *args: str) -> Any:
    """`reactivate ARGS --db DB`, which must succeed; returns the CliRunner result."""
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result
