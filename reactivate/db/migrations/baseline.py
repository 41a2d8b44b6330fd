"""The schema of revision 0001, frozen: the tables as the last release before revisions
made them (its `meta.schema_version` 2).

A copy, not `reactivate.db.models`: the models move on with later revisions, and this
must keep describing what revision 0001 means. Upgrading a database from before
revisions checks it against this (`reactivate.db.migrate`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

#: The revision this schema is.
REVISION = "0001"
#: The `meta.schema_version` of this schema, as releases before revisions numbered it.
SCHEMA_VERSION = 2

SCHEMA = MetaData()


def _time(name: str, *, nullable: bool = False) -> Column[dt.datetime]:
    # aware times stored as UTC (`reactivate.db.models.UTCDateTime` is this type underneath)
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _text(
    name: str,
    *foreign: ForeignKey,
    nullable: bool = True,
    primary_key: bool = False,
    unique: bool | None = None,
    index: bool | None = None,
) -> Column[str]:
    return Column(
        name,
        String(),
        *foreign,
        nullable=nullable,
        primary_key=primary_key,
        unique=unique,
        index=index,
    )


Table(
    "meta",
    SCHEMA,
    _text("key", primary_key=True, nullable=False),
    _text("value", nullable=False),
)
Table(
    "campaign",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    _text("slug", nullable=False, unique=True, index=True),
    _text("name", nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    _text("definition", nullable=False),
    _text("source_path", nullable=False),
    _text("status", nullable=False),
    _time("registered_at"),
    _time("closed_at", nullable=True),
)
Table(
    "branch",
    SCHEMA,
    _text("name", primary_key=True, nullable=False),
    _text("code", unique=True),
)
Table(
    "branch_alias",
    SCHEMA,
    _text("alias_key", primary_key=True, nullable=False),
    _text("branch_name", ForeignKey("branch.name"), nullable=False),
)
Table(
    "advisor",
    SCHEMA,
    _text("code", primary_key=True, nullable=False),
    _text("name", nullable=False),
    _text("branch", ForeignKey("branch.name"), nullable=False, index=True),
    _text("wecom_userid"),
    Column("capacity", Integer),
    Column("active", Boolean, nullable=False),
    _time("updated_at"),
)
Table(
    "client",
    SCHEMA,
    _text("client_id", primary_key=True, nullable=False),
    _text("name"),
    _text("mobile"),
    _text("branch", index=True),
    Column("assets", Float),
    Column("last_trade_date", Date),
    Column("risk", Integer),
    Column("opened_at", Date),
    _text("previous_advisor"),
    _text("status"),
    _text("extra"),
    _time("updated_at"),
)
Table(
    "import_record",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    _text("kind", nullable=False),
    Column("campaign_id", Integer, ForeignKey("campaign.id")),
    _text("file_name", nullable=False),
    _text("sha256", nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    _text("counts", nullable=False),
    _text("status", nullable=False),
    _text("run_by", nullable=False),
    _time("run_at"),
)
Table(
    "member",
    SCHEMA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("client_id", ForeignKey("client.client_id"), primary_key=True, nullable=False),
    _time("joined_at"),
    Column("import_id", Integer, ForeignKey("import_record.id")),
    Column("dnc", Boolean, nullable=False),
    Column("control", Boolean, nullable=False),
    _text("advisor_code", ForeignKey("advisor.code"), index=True),
    _time("assigned_at", nullable=True),
    _time("considered_at", nullable=True),
)
Table(
    "event",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False),
    _text("client_id", ForeignKey("client.client_id"), nullable=False),
    _text("stage", nullable=False),
    _text("value"),
    _time("occurred_at"),
    _text("advisor_code"),
    _text("source", nullable=False),
    Column("import_id", Integer, ForeignKey("import_record.id")),
    _text("source_file"),
    Column("source_row", Integer),
    _text("source_ref"),
    _text("recorded_by", nullable=False),
    _time("recorded_at"),
    Column("voids_event_id", Integer, ForeignKey("event.id")),
    Index("ix_event_member_stage", "campaign_id", "client_id", "stage"),
    Index("ix_event_import", "import_id"),
    Index("ix_event_voids", "voids_event_id"),
    Index("ix_event_campaign_source", "campaign_id", "source", "advisor_code"),
)
Table(
    "do_not_call",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    _text("kind", nullable=False),
    _text("value", nullable=False),
    _text("reason"),
    _time("added_at"),
    Column("import_id", Integer, ForeignKey("import_record.id")),
    UniqueConstraint("kind", "value"),
)
Table(
    "wecom_token",
    SCHEMA,
    _text("key", primary_key=True, nullable=False),
    _text("token", nullable=False),
    _time("expires_at"),
)

#: The columns schema version 2 added to `client_stage` (name -> DDL type and default,
#: as version 1 databases are given them).
FUNNEL_COLUMNS = {
    "stages_reached": "INTEGER NOT NULL DEFAULT 0",
    "skipped_stage": "BOOLEAN NOT NULL DEFAULT FALSE",
    "called_days": "FLOAT",
    "reached_days": "FLOAT",
    "wecom_days": "FLOAT",
    "pushed_days": "FLOAT",
    "converted_days": "FLOAT",
}
_DAYS = ("called_days", "reached_days", "wecom_days", "pushed_days", "converted_days")
Table(
    "client_stage",
    SCHEMA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("client_id", ForeignKey("client.client_id"), primary_key=True, nullable=False),
    _text("advisor_code"),
    _time("assigned_at", nullable=True),
    Column("control", Boolean, nullable=False),
    Column("dnc", Boolean, nullable=False),
    _time("called_at", nullable=True),
    _time("reached_at", nullable=True),
    _time("wecom_at", nullable=True),
    _time("wecom_confirmed_at", nullable=True),
    _time("pushed_at", nullable=True),
    _time("converted_at", nullable=True),
    _time("reactivated_at", nullable=True),
    Column("calls", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    _time("last_call_at", nullable=True),
    _time("callback_at", nullable=True),
    Column("do_not_call", Boolean, nullable=False),
    Column("stages_reached", Integer, nullable=False),
    Column("skipped_stage", Boolean, nullable=False),
    *(Column(days, Float) for days in _DAYS),
    Index("ix_client_stage_advisor", "campaign_id", "advisor_code"),
    # SQLite only: it reads medians from these by OFFSET
    *(
        Index(
            f"ix_client_stage_{days}", "campaign_id", days, sqlite_where=text(f"{days} IS NOT NULL")
        ).ddl_if(dialect="sqlite")
        for days in _DAYS
    ),
)
Table(
    "workbook_issue",
    SCHEMA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("advisor_code", ForeignKey("advisor.code"), primary_key=True, nullable=False),
    Column("issue", Integer, primary_key=True),
    _time("issued_at"),
    Column("clients", Integer, nullable=False),
    _text("digest", nullable=False),
    _text("path", nullable=False),
)
Table(
    "wecom_relation",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False, index=True),
    _text("userid", nullable=False),
    _text("external_userid", nullable=False),
    _text("advisor_code"),
    _text("client_id"),
    _text("match"),
    _text("state"),
    _text("remark_mobiles"),
    Column("add_way", Integer, nullable=False),
    _time("createtime"),
    _time("first_seen_at"),
    _time("last_seen_at"),
    _time("lost_at", nullable=True),
    UniqueConstraint("campaign_id", "userid", "external_userid"),
)
Table(
    "wecom_contact_way",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False, index=True),
    _text("advisor_code", ForeignKey("advisor.code"), nullable=False),
    _text("client_id"),
    _text("state", nullable=False, unique=True),
    _text("config_id", nullable=False),
    _text("qr_code", nullable=False),
    _time("created_at"),
    _time("removed_at", nullable=True),
)
Table(
    "wecom_transfer",
    SCHEMA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False, index=True),
    _text("handover", nullable=False),
    _text("takeover", nullable=False),
    Column("resigned", Boolean, nullable=False),
    _text("external_userid", nullable=False),
    _text("client_id"),
    Column("errcode", Integer, nullable=False),
    Column("status", Integer),
    _time("takeover_time", nullable=True),
    _time("started_at"),
    _time("updated_at"),
    UniqueConstraint("campaign_id", "handover", "takeover", "external_userid"),
)
