"""The small campaign the upload tests share: eight clients, two advisors, workbooks to fill."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers import CAMPAIGN_FILE
from sqlalchemy import text
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db import stages
from reactivate.db.engine import open_engine
from reactivate.db.meta import workbook_secret
from reactivate.rules import funnel
from reactivate.sheets.fill import fill_workbook
from reactivate.sheets.workbook import (
    WorkbookClient,
    WorkbookProduct,
    WorkbookSpec,
    write_advisor_workbook,
)

SLUG = "2020h2-dormant"
SH = ZoneInfo("Asia/Shanghai")
ROSTER = """工号,姓名,营业部,营业部代码,企业微信账号,容量,状态
A001,王芳,上海浦东南路营业部,0101,wangfang,300,在职
A002,李强,上海浦东南路营业部,0101,liqiang,300,在职
"""
ACCOUNTS_HEADER = "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力"
# client -> (name, risk); all dormant; 06 is on the firm-wide do-not-call list
CLIENTS = {
    "0010000001": ("张三", "C3"),
    "0010000002": ("李四", "C1"),
    "0010000003": ("王五", "C5"),
    "0010000004": ("赵六", ""),
    "0010000005": ("钱七", "C2"),
    "0010000006": ("孙八", "C3"),
    "0010000007": ("周九", "C4"),
    "0010000008": ("吴十", "C3"),
}
ASSIGNED_AT = dt.datetime(2020, 7, 1, 9, 0, tzinfo=SH)
#: who gets whom; 05 is control, 08 stays unassigned
ASSIGNMENT = {
    "0010000001": "A001",
    "0010000002": "A001",
    "0010000003": "A002",
    "0010000004": "A001",
    "0010000006": "A001",
    "0010000007": "A001",
}


def sh(text_: str) -> dt.datetime:
    """A wall-clock time in Shanghai as a naive datetime (what a sheet holds)."""
    return dt.datetime.fromisoformat(text_)


def utc(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=SH).astimezone(dt.UTC)


def invoke(*args: str, db: str) -> Any:
    return CliRunner().invoke(app, [*args, "--db", db])


def assign(db: str, mapping: Mapping[str, str], at: dt.datetime = ASSIGNED_AT) -> None:
    """What `assign` will do: set member's advisor, append an 'assigned' event, refresh."""
    engine = open_engine(db)
    with engine.begin() as conn:
        cid = conn.execute(text("SELECT id FROM campaign WHERE slug = :s"), {"s": SLUG}).scalar()
        for client, advisor in mapping.items():
            conn.execute(
                text(
                    "UPDATE member SET advisor_code = :a, assigned_at = :at"
                    " WHERE campaign_id = :c AND client_id = :client"
                ),
                {"a": advisor, "at": at.astimezone(dt.UTC), "c": cid, "client": client},
            )
            conn.execute(
                text(
                    "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at,"
                    " advisor_code, source, recorded_by, recorded_at) VALUES (:c, :client,"
                    " :stage, :a, :at, :a, 'assign', 'test', :at)"
                ),
                {
                    "c": cid,
                    "client": client,
                    "stage": funnel.EVENT_ASSIGNED,
                    "a": advisor,
                    "at": at.astimezone(dt.UTC),
                },
            )
        stages.refresh(conn, cid, list(mapping))
    engine.dispose()


def setup_db(db: str, tmp_path: Path) -> str:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    lines = [ACCOUNTS_HEADER] + [
        f"{cid},{name},138{cid[-8:]},上海浦东南路营业部,20000,2019-06-01,{risk}"
        for cid, (name, risk) in CLIENTS.items()
    ]
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("客户号,原因\n0010000006,投诉\n", encoding="utf-8")
    for args in (
        ["campaign", "add", str(CAMPAIGN_FILE)],
        ["advisors", "load", str(roster)],
        ["load", str(accounts), "--campaign", SLUG],
        ["dnc", "load", str(dnc)],
    ):
        result = invoke(*args, db=db)
        assert result.exit_code == 0, result.output
    engine = open_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE member SET control = true WHERE client_id = '0010000005'"))
        # a known client who is not in this campaign
        conn.execute(
            text(
                "INSERT INTO client (client_id, name, risk, updated_at)"
                " VALUES ('0099000001', '外人', 3, :now)"
            ),
            {"now": dt.datetime.now(dt.UTC)},
        )
    engine.dispose()
    assign(db, ASSIGNMENT)
    return db


def make_workbook(
    db: str,
    path: Path,
    advisor: str,
    fills: Mapping[str, Mapping[str, object]],
    *,
    clients: Sequence[str] | None = None,
    campaign: str = SLUG,
    issue: int = 1,
) -> Path:
    """An issued workbook for `advisor` (stamped with the database's secret), then filled:
    `fills` maps client id -> {header: value}."""
    engine = open_engine(db)
    with engine.begin() as conn:
        secret = workbook_secret(conn)
    engine.dispose()
    ids = (
        list(clients) if clients is not None else [c for c, a in ASSIGNMENT.items() if a == advisor]
    )
    products = (
        WorkbookProduct("MMF01", "现金宝货币基金", 1),
        WorkbookProduct("BOND02", "稳健债券基金", 2),
        WorkbookProduct("ADV03", "投顾组合服务", 3),
        WorkbookProduct("EQ04", "成长股票基金", 4),
    )
    spec = WorkbookSpec(
        campaign_slug=campaign,
        campaign_name="2020下半年失活客户激活",
        advisor_code=advisor,
        advisor_name="王芳",
        branch="上海浦东南路营业部",
        issue=issue,
        issued_at=dt.datetime(2020, 7, 1, 1, 0, tzinfo=dt.UTC),
        timezone="Asia/Shanghai",
        dispositions=funnel.DISPOSITIONS,
        products=products,
        clients=tuple(
            WorkbookClient(cid, CLIENTS[cid][0], f"138{cid[-8:]}", "上海", "10k-50k", 400, None, ())
            for cid in ids
        ),
    )
    write_advisor_workbook(path, spec, secret)
    fill_workbook(path, fills)
    return path


def plain_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def upload(db: str, *paths: Path, extra: Sequence[str] = ()) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app,
        ["results", "upload", *map(str, paths), "-c", SLUG, "--format", "json", "--db", db, *extra],
    )
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def rows(db: str, sql: str, **params: object) -> list[Any]:
    engine = open_engine(db)
    with engine.connect() as conn:
        found = list(conn.execute(text(sql), params))
    engine.dispose()
    return found


def scalar(db: str, sql: str, **params: object) -> Any:
    return rows(db, sql, **params)[0][0]


def events(db: str, client: str | None = None) -> list[Any]:
    only = "AND e.client_id = :client" if client else ""
    return rows(
        db,
        "SELECT e.* FROM event e WHERE e.stage NOT IN ('assigned', 'void')"
        " AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
        f" {only} ORDER BY e.id",
        client=client,
    )


def stage_of(db: str, client: str) -> Any:
    return rows(db, "SELECT * FROM client_stage WHERE client_id = :c", c=client)[0]


def aware(value: object) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


FULL = {
    "0010000001": {
        "通话时间": sh("2020-07-02 10:30"),
        "通话结果": "接通",
        "拨打次数": 2,
        "是否添加企业微信": "是",
        "添加时间": sh("2020-07-02 11:00"),
        "推送产品": "ADV03 投顾组合服务",
        "推送时间": sh("2020-07-03 09:00"),
        "是否转化": "是",
        "转化时间": sh("2020-07-05 15:00"),
        "备注": "很感兴趣",
    },
    "0010000002": {"通话时间": sh("2020-07-02 14:00"), "通话结果": "无人接听", "拨打次数": 1},
}


# ------------------------------------------------------------------------- pure parts
