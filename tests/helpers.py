"""What tests share that is not a fixture: paths to the sample files and raw SQL looks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "2020h2-dormant.toml"
TEST_DATA = Path(__file__).resolve().parent / "data"


def record_call(db: str, client_id: str, at: str = "2020-07-02 02:00:00") -> None:
    """Append one answered call for `client_id` in campaign 1, as an upload would."""
    from sqlalchemy import text

    from reactivate.db.engine import open_engine

    engine = open_engine(db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, source,"
                " recorded_by, recorded_at)"
                " VALUES (1, :client, 'call', 'connected', :at, 'upload', 'test', :at)"
            ),
            {"client": client_id, "at": at},
        )
    engine.dispose()


def query(db: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a raw SQL query against `db`, as tuples (the test's independent look)."""
    from sqlalchemy import text

    from reactivate.db.engine import open_engine

    engine = open_engine(db)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), params)]
    engine.dispose()
    return rows


def scalar(db: str, sql: str, **params: Any) -> Any:
    """The first value of a raw SQL query against `db`."""
    return query(db, sql, **params)[0][0]


#: The key the advisor workbooks of `advisor_spec` are signed with.
WORKBOOK_SECRET = b"test-secret-0123456789"


def advisor_spec(count: int, **changes: Any) -> Any:
    """A `WorkbookSpec` of `count` clients of every risk level, three products, a link."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from reactivate.rules.funnel import DISPOSITIONS, asset_bands
    from reactivate.sheets.workbook import WorkbookClient, WorkbookProduct, WorkbookSpec

    products = (
        WorkbookProduct("F001", "货币基金", 1),
        WorkbookProduct("F003", "稳健理财", 2),
        WorkbookProduct("F005", "成长股票", 4),
    )
    band = asset_bands(chinese=True)
    clients = tuple(
        WorkbookClient(
            client_id=f"{index:010d}",
            name=("欧阳" if index % 7 == 0 else "王") + "客户" + str(index),
            mobile=f"138{index:08d}",
            branch="上海浦东南路营业部",
            asset_band=band(index * 13_000.0),
            days_dormant=180 + index,
            risk=index % 5 + 1,
            suitable_products=tuple(p.code for p in products if p.risk <= index % 5 + 1),
        )
        for index in range(count)
    )
    spec = WorkbookSpec(
        campaign_slug="spring-2024",
        campaign_name="2024 春季唤醒",
        advisor_code="A007",
        advisor_name="王芳",
        branch="上海浦东南路营业部",
        issue=1,
        issued_at=datetime(2024, 3, 1, 1, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        dispositions=DISPOSITIONS,
        products=products,
        clients=clients,
        contact_link="https://work.weixin.qq.com/ca/cawcde0123456789",
    )
    return replace(spec, **changes)


@contextlib.contextmanager
def statements_seen() -> Iterator[list[str]]:
    """Every statement SQLAlchemy's engines send while inside, as its text."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", _seen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", _seen)
