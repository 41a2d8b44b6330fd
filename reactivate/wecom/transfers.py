"""Hand a departed advisor's WeCom customers to the colleagues who took their clients over.

    summary = hand_over(engine, wecom, "2020h2-dormant", "A0010")   # after `reassign`
    summary = poll(engine, wecom, "2020h2-dormant")                  # later: how it went
    done = reassign_and_hand_over(engine, "2020h2-dormant", "A0010", wecom=wecom)  # both at once

`hand_over` looks up, among the relations `wecom sync` stored for the campaign, those of
the old advisor tied to a client now assigned to someone else, and asks WeCom to move
them: `resigned/transfer_customer` (离职继承) when the old advisor has left the roster,
`transfer_customer` (在职继承) while they are still active or when `employed` says so.
At most 100 customers a call (the client chunks); each customer's errcode is recorded
in `wecom_transfer` (0 = started). Running it again retries only what did not start.

`poll` asks `transfer_result` for every pair with transfers still waiting and records
each customer's status: 1 done, 2 waiting, 3 refused by the customer, 4 the takeover
advisor is at WeCom's customer limit.

Network first, then one short write; what WeCom answered before an error is still written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, and_, bindparam, select, text

from reactivate import access, registry
from reactivate.assign import AssignSummary, Progress, reassign
from reactivate.clock import utcnow
from reactivate.db import bulk
from reactivate.db.models import WECOM_TRANSFERS
from reactivate.errors import ConfigError, WeComError
from reactivate.messages import t
from reactivate.wecom.client import WeComClient

DONE: Final = 1
WAITING: Final = 2
REFUSED: Final = 3
OVER_LIMIT: Final = 4
STATUS_NAMES: Final = {
    DONE: "done",
    WAITING: "waiting",
    REFUSED: "refused",
    OVER_LIMIT: "over_limit",
}

_CANDIDATES_SQL = """
SELECT r.external_userid, r.client_id, m.advisor_code, a.wecom_userid
FROM wecom_relation r
JOIN member m ON m.campaign_id = r.campaign_id AND m.client_id = r.client_id
JOIN advisor a ON a.code = m.advisor_code
WHERE r.campaign_id = :cid AND r.userid = :handover AND r.client_id IS NOT NULL
  AND r.lost_at IS NULL AND m.advisor_code <> :code
  AND NOT EXISTS (
    SELECT 1 FROM wecom_transfer w
    WHERE w.campaign_id = r.campaign_id AND w.handover = r.userid
      AND w.external_userid = r.external_userid AND w.errcode = 0)
ORDER BY r.client_id, r.external_userid
"""


@dataclass
class HandoverSummary:
    campaign: str
    handover: str  # advisor code
    resigned: bool = False
    customers: int = 0  # WeCom customers asked to move
    started: int = 0
    failed: dict[int, int] = field(default_factory=dict)  # errcode -> customers
    without_userid: list[str] = field(default_factory=list)  # takeover advisors

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "handover": self.handover,
            "resigned": self.resigned,
            "customers": self.customers,
            "started": self.started,
            "failed": {str(code): n for code, n in sorted(self.failed.items())},
            "without_userid": self.without_userid,
        }


@dataclass
class TransfersSummary:
    campaign: str
    polled: int = 0  # (handover, takeover) pairs asked
    updated: int = 0  # customers whose status changed
    counts: dict[str, int] = field(default_factory=dict)  # status name -> customers

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "polled": self.polled,
            "updated": self.updated,
            **self.counts,
        }


def hand_over(
    engine: Engine,
    wecom: WeComClient,
    slug: str,
    from_code: str,
    *,
    employed: bool | None = None,
    message: str | None = None,
) -> HandoverSummary:
    """Move the WeCom customers of `from_code` whose clients now belong to colleagues."""
    access.require(engine, "access.action.wecom")
    campaign = registry.open_campaign(engine, slug)
    summary = HandoverSummary(campaign=slug, handover=from_code)
    with engine.connect() as conn:
        advisor = conn.execute(
            text("SELECT wecom_userid, active FROM advisor WHERE code = :code"),
            {"code": from_code},
        ).first()
        if advisor is None:
            raise ConfigError(t("error.advisor_unknown", code=from_code))
        handover = (advisor.wecom_userid or "").strip()
        if not handover:
            raise ConfigError(t("wecom.handover_no_userid", code=from_code))
        rows = conn.execute(
            text(_CANDIDATES_SQL), {"cid": campaign.id, "handover": handover, "code": from_code}
        ).all()
    summary.resigned = not (employed if employed is not None else bool(advisor.active))
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for external_userid, client_id, code, takeover in rows:
        if not takeover:
            if code not in summary.without_userid:
                summary.without_userid.append(code)
            continue
        groups[takeover].append((external_userid, client_id))
    records: list[dict[str, Any]] = []
    try:
        for takeover, customers in groups.items():
            ids = [external for external, _ in customers]
            try:
                outcome = wecom.transfer_customer(
                    handover, takeover, ids, resigned=summary.resigned, message=message
                )
            except WeComError as exc:
                if exc.errcode is None:
                    raise
                outcome = {external: exc.errcode for external in ids}
            now = utcnow()
            for external, client_id in customers:
                errcode = outcome.get(external, -1)
                records.append(
                    {
                        "campaign_id": campaign.id,
                        "handover": handover,
                        "takeover": takeover,
                        "resigned": summary.resigned,
                        "external_userid": external,
                        "client_id": client_id,
                        "errcode": errcode,
                        "status": WAITING if errcode == 0 else None,
                        "takeover_time": None,
                        "started_at": now,
                        "updated_at": now,
                    }
                )
    finally:
        if records:
            with engine.begin() as conn:
                bulk.upsert(
                    conn,
                    WECOM_TRANSFERS,
                    records,
                    ["campaign_id", "handover", "takeover", "external_userid"],
                )
    summary.customers = len(records)
    for record in records:
        if record["errcode"] == 0:
            summary.started += 1
        else:
            summary.failed[record["errcode"]] = summary.failed.get(record["errcode"], 0) + 1
    return summary


def poll(engine: Engine, wecom: WeComClient, slug: str) -> TransfersSummary:
    """Ask WeCom how the waiting transfers went and record each customer's status."""
    access.require(engine, "access.action.wecom")
    campaign = registry.open_campaign(engine, slug)
    summary = TransfersSummary(campaign=slug)
    with engine.connect() as conn:
        pairs = conn.execute(
            select(
                WECOM_TRANSFERS.c.handover, WECOM_TRANSFERS.c.takeover, WECOM_TRANSFERS.c.resigned
            )
            .where(
                WECOM_TRANSFERS.c.campaign_id == campaign.id,
                WECOM_TRANSFERS.c.errcode == 0,
                WECOM_TRANSFERS.c.status == WAITING,
            )
            .distinct()
            .order_by(WECOM_TRANSFERS.c.handover, WECOM_TRANSFERS.c.takeover)
        ).all()
    answers: list[tuple[str, str, str, int, dt.datetime | None]] = []
    for handover, takeover, resigned in pairs:
        summary.polled += 1
        for status in wecom.transfer_result(handover, takeover, resigned=bool(resigned)):
            answers.append(
                (handover, takeover, status.external_userid, status.status, status.takeover_time)
            )
    with engine.begin() as conn:
        stored = {
            (h, k, e): status
            for h, k, e, status in conn.execute(
                select(
                    WECOM_TRANSFERS.c.handover,
                    WECOM_TRANSFERS.c.takeover,
                    WECOM_TRANSFERS.c.external_userid,
                    WECOM_TRANSFERS.c.status,
                ).where(
                    WECOM_TRANSFERS.c.campaign_id == campaign.id, WECOM_TRANSFERS.c.errcode == 0
                )
            )
        }
        now = utcnow()
        changes = [
            {"h": h, "k": k, "e": e, "new_status": status, "when": when, "now": now}
            for h, k, e, status, when in answers
            if (h, k, e) in stored and stored[(h, k, e)] != status
        ]
        if changes:
            conn.execute(
                WECOM_TRANSFERS.update()
                .where(
                    and_(
                        WECOM_TRANSFERS.c.campaign_id == campaign.id,
                        WECOM_TRANSFERS.c.handover == bindparam("h"),
                        WECOM_TRANSFERS.c.takeover == bindparam("k"),
                        WECOM_TRANSFERS.c.external_userid == bindparam("e"),
                    )
                )
                .values(
                    status=bindparam("new_status"),
                    takeover_time=bindparam("when"),
                    updated_at=bindparam("now"),
                ),
                changes,
            )
        summary.updated = len(changes)
        counts: dict[str, int] = defaultdict(int)
        for errcode, status, n in conn.execute(
            text(
                "SELECT errcode, status, COUNT(*) FROM wecom_transfer WHERE campaign_id = :cid"
                " GROUP BY errcode, status"
            ),
            {"cid": campaign.id},
        ):
            name = STATUS_NAMES.get(status, "unknown") if errcode == 0 else "not_started"
            counts[name] += int(n)
    summary.counts = {name: counts.get(name, 0) for name in (*STATUS_NAMES.values(), "not_started")}
    return summary


@dataclass
class Reassignment:
    """What `reassign_and_hand_over` did: the clients' moves and, when asked, the handover."""

    moves: AssignSummary
    handover: HandoverSummary | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.moves.to_json()
        return data if self.handover is None else {**data, "wecom": self.handover.to_json()}


def reassign_and_hand_over(
    engine: Engine,
    slug: str,
    from_code: str,
    to_code: str | None = None,
    *,
    wecom: WeComClient | None = None,
    employed: bool | None = None,
    out_dir: Path | None = None,
    workbooks: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Reassignment:
    """`reassign` the clients of `from_code`; then, given a WeCom client and not a dry run,
    hand their WeCom customers to the new advisors (`hand_over`).

    The client comes ready, its settings read, so incomplete WeCom settings refuse the job
    before anything moves.
    """
    moves = reassign(
        engine,
        slug,
        from_code,
        to_code,
        out_dir=out_dir,
        workbooks=workbooks,
        dry_run=dry_run,
        progress=progress,
    )
    if wecom is None or dry_run:
        return Reassignment(moves)
    return Reassignment(moves, hand_over(engine, wecom, slug, from_code, employed=employed))
