"""Voiding evidence: `undo` of a whole upload and `correct` of one client's stage.

History is never changed in place: each voided event gets a void event appending the
reason, and the stage summary of the clients concerned is rebuilt in the same
transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, text

from reactivate import access, registry
from reactivate.clock import utcnow
from reactivate.db import dialect, stages
from reactivate.db.import_log import who
from reactivate.db.locks import lock_campaign
from reactivate.errors import ConfigError, StateError
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.upload.model import KIND, VoidSummary

# Event kinds the funnel stages void from (`correct --stage`), earliest stage first.
_LATER_KINDS = (funnel.EVENT_WECOM, funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED)

_VOID_SQL = f"""
INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code, source,
                   source_ref, recorded_by, recorded_at, voids_event_id)
SELECT e.campaign_id, e.client_id, '{funnel.EVENT_VOID}', :reason, :now, e.advisor_code, :source,
       :ref, :who, :now, e.id
FROM event e
WHERE {{where}}
  AND e.stage <> '{funnel.EVENT_VOID}'
  AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
"""


def _void(conn: Connection, where: str, params: dict[str, Any]) -> int:
    now = dialect.db_time(conn, utcnow())
    result = conn.execute(
        text(_VOID_SQL.format(where=where)),
        {"now": now, "who": who(conn), **params},
    )
    return int(result.rowcount)


def undo(engine: Engine, import_id: int, reason: str | None = None) -> VoidSummary:
    """Void every event of one results upload (appending void events); refuses twice."""
    if not 0 < import_id < 2**63:  # no database holds such an id (nor can bind it)
        raise StateError(t("error.import_not_found", id=import_id))
    with engine.begin() as conn:
        who_calls = access.require(conn, "access.action.undo", access.ADVISOR)
        found = conn.execute(
            text(
                "SELECT i.kind, i.status, i.campaign_id, i.run_by, c.slug FROM import_record i"
                " LEFT JOIN campaign c ON c.id = i.campaign_id WHERE i.id = :id"
            ),
            {"id": import_id},
        ).first()
        if found is None:
            hidden = access.import_run_by(conn, who_calls, import_id)  # another's upload
            if hidden is not None:
                access.may_void_import(who_calls, import_id, hidden)
            raise StateError(t("error.import_not_found", id=import_id))
        if found.kind != KIND:
            raise StateError(t("error.import_not_results", id=import_id, kind=found.kind))
        access.may_void_import(who_calls, import_id, found.run_by)
        lock_campaign(conn, found.campaign_id)
        status = conn.execute(
            text("SELECT status FROM import_record WHERE id = :id"), {"id": import_id}
        ).scalar_one()
        if status == "undone":
            raise StateError(t("error.import_undone", id=import_id))
        if status != "applied":
            raise StateError(t("error.import_not_applied", id=import_id, status=status))
        clients = list(
            conn.execute(
                text("SELECT DISTINCT client_id FROM event WHERE import_id = :id"),
                {"id": import_id},
            ).scalars()
        )
        voided = _void(
            conn,
            "e.import_id = :import_id",
            {
                "import_id": import_id,
                "reason": reason or t("summary.undo_reason", id=import_id),
                "source": "undo",
                "ref": f"import:{import_id}",
            },
        )
        conn.execute(
            text("UPDATE import_record SET status = 'undone' WHERE id = :id"), {"id": import_id}
        )
        if clients and not access.refresh_own(conn, found.campaign_id, lambda: clients):
            stages.refresh(conn, found.campaign_id, clients)
    return VoidSummary(found.slug or "", voided, len(clients), import_id=import_id)


def kinds_from(stage: str) -> tuple[tuple[str, ...], bool]:
    """The event kinds that are evidence for `stage` and every later one, and whether only
    answered calls count (reached): what `correct --stage STAGE` voids. Notes stay."""
    if stage == funnel.CALLED:
        return (
            funnel.EVENT_CALL,
            funnel.EVENT_ATTEMPTS,
            funnel.EVENT_CALLBACK,
            *_LATER_KINDS,
        ), False
    if stage == funnel.REACHED:
        return (funnel.EVENT_CALL, funnel.EVENT_CALLBACK, *_LATER_KINDS), True
    if stage == funnel.WECOM_ADDED:
        return _LATER_KINDS, False
    if stage == funnel.PUSHED:
        return _LATER_KINDS[1:], False
    if stage == funnel.CONVERTED:
        return _LATER_KINDS[2:], False
    raise ConfigError(t("error.stage_unknown", stage=stage, stages=", ".join(funnel.STAGES)))


def correct(engine: Engine, slug: str, client_id: str, stage: str, reason: str) -> VoidSummary:
    """Void one client's evidence from `stage` on (e.g. reached: answered calls and later)."""
    kinds, answered_only = kinds_from(stage)
    if not reason.strip():
        raise ConfigError(t("error.reason_required"))
    registered = registry.get(engine, slug)
    with engine.begin() as conn:
        who_calls = access.require(conn, "access.action.correct", access.ADVISOR)
        access.may_correct(conn, who_calls, registered.id, client_id)
        member = conn.execute(
            text("SELECT 1 FROM member WHERE campaign_id = :cid AND client_id = :client"),
            {"cid": registered.id, "client": client_id},
        ).first()
        if member is None:
            raise StateError(t("error.not_member", client_id=client_id, campaign=slug))
        lock_campaign(conn, registered.id)
        kind_list = ", ".join(f"'{k}'" for k in kinds)
        where = f"e.campaign_id = :cid AND e.client_id = :client AND e.stage IN ({kind_list})"
        if answered_only:
            where += (
                f" AND (e.stage <> '{funnel.EVENT_CALL}' OR e.value IN ({stages.REACHED_VALUES}))"
            )
        voided = _void(
            conn,
            where,
            {
                "cid": registered.id,
                "client": client_id,
                "reason": reason.strip(),
                "source": "correct",
                "ref": f"stage:{stage}",
            },
        )
        if not access.refresh_own(conn, registered.id, lambda: [client_id]):
            stages.refresh(conn, registered.id, [client_id])
    return VoidSummary(slug, voided, 1, client_id=client_id, stage=stage)
