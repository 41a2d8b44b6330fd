"""The tables. One module, so the whole schema reads in one place.

Conventions: datetimes are aware and stored as UTC (sqlmodel's UTCDateTime); ids that users see (client
ids, advisor codes, campaign slugs) are text; events are append-only: a mistake
is undone by a new event that voids an earlier one, never by an update.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Table, UniqueConstraint, text
from sqlmodel import Field, SQLModel

#: What releases before schema revisions called this schema (`meta.schema_version`).
#: A change to the tables is now a revision in `reactivate.db.migrations`, not a bump here.
SCHEMA_VERSION = 2


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself: schema version, workbook secret."""

    key: str = Field(primary_key=True)
    value: str


class CampaignRecord(SQLModel, table=True):
    """A registered campaign; `definition` keeps the TOML text it was registered from."""

    __tablename__ = "campaign"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    start: dt.date
    end: dt.date
    definition: str
    source_path: str
    status: str = "open"  # open | closed
    registered_at: dt.datetime
    closed_at: dt.datetime | None = None


class Branch(SQLModel, table=True):
    """A branch (营业部) as the roster names it."""

    name: str = Field(primary_key=True)
    code: str | None = Field(default=None, unique=True)


class BranchAlias(SQLModel, table=True):
    """Another spelling of a branch name (normalised key) -> the roster's name."""

    __tablename__ = "branch_alias"
    alias_key: str = Field(primary_key=True)
    branch_name: str = Field(foreign_key="branch.name")


class Advisor(SQLModel, table=True):
    """An advisor (客户经理) from the roster; reloading updates, never deletes."""

    code: str = Field(primary_key=True)
    name: str
    branch: str = Field(foreign_key="branch.name", index=True)
    wecom_userid: str | None = None
    capacity: int | None = None
    active: bool = True
    updated_at: dt.datetime


class Client(SQLModel, table=True):
    """A client account as the latest export describes it."""

    client_id: str = Field(primary_key=True)
    name: str | None = None
    mobile: str | None = None
    branch: str | None = Field(default=None, index=True)
    assets: float | None = None
    last_trade_date: dt.date | None = None
    risk: int | None = None  # tolerance C1-C5 as 1-5
    opened_at: dt.date | None = None
    previous_advisor: str | None = None
    status: str | None = None
    extra: str | None = None  # JSON object of the export's unknown columns
    updated_at: dt.datetime


class Member(SQLModel, table=True):
    """A client's membership in a campaign, with the current assignment (rebuildable from events)."""

    __tablename__ = "member"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    client_id: str = Field(foreign_key="client.client_id", primary_key=True)
    joined_at: dt.datetime
    import_id: int | None = Field(default=None, foreign_key="import_record.id")
    dnc: bool = False
    control: bool = False
    advisor_code: str | None = Field(default=None, foreign_key="advisor.code", index=True)
    assigned_at: dt.datetime | None = None
    # when an assign run first considered this member (control-group draw included):
    # later runs draw their holdout share only from members not yet considered
    considered_at: dt.datetime | None = None


class Event(SQLModel, table=True):
    """One piece of evidence about a client in a campaign. Append-only.

    `stage` is the event kind (see `reactivate.rules.funnel`: assigned, call, wecom_added,
    pushed, ...); `value` carries the detail (a call disposition, a product code, an
    advisor code). A 'void' event cancels the event its `voids_event_id` names.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_member_stage", "campaign_id", "client_id", "stage"),
        Index("ix_event_import", "import_id"),
        Index("ix_event_voids", "voids_event_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    client_id: str = Field(foreign_key="client.client_id")
    stage: str  # an event kind: reactivate.rules.funnel.EVENT_KINDS
    value: str | None = None
    occurred_at: dt.datetime
    advisor_code: str | None = None
    source: str  # upload | wecom | assign | correct | undo | demo
    import_id: int | None = Field(default=None, foreign_key="import_record.id")
    source_file: str | None = None
    source_row: int | None = None
    source_ref: str | None = None  # an API reference: external userid, msgid, ...
    recorded_by: str
    recorded_at: dt.datetime
    voids_event_id: int | None = Field(default=None, foreign_key="event.id")


class ImportRecord(SQLModel, table=True):
    """Every file brought in, applied or refused: what, from where, counts, who, when."""

    __tablename__ = "import_record"
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # accounts | roster | dnc | results | activity
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    file_name: str
    sha256: str = Field(index=True)
    rows: int
    counts: str  # JSON object of the summary
    status: str  # applied | refused | dry_run | skipped
    run_by: str
    run_at: dt.datetime


class DoNotCall(SQLModel, table=True):
    """The firm-wide do-not-call list: by client id or by mobile."""

    __tablename__ = "do_not_call"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # client_id | mobile
    value: str
    reason: str | None = None
    added_at: dt.datetime
    import_id: int | None = Field(default=None, foreign_key="import_record.id")


class WeComToken(SQLModel, table=True):
    """A cached WeCom access token, keyed by corp and app, shared across invocations."""

    __tablename__ = "wecom_token"
    key: str = Field(primary_key=True)
    token: str
    expires_at: dt.datetime


class ClientStage(SQLModel, table=True):
    """Per member, where they are in the funnel: a cache rebuilt from member + events.

    Reports read this instead of rescanning every event; `reactivate.db.stages.refresh`
    keeps it in step inside the transaction that writes the events.
    """

    __tablename__ = "client_stage"
    __table_args__ = (
        Index("ix_client_stage_advisor", "campaign_id", "advisor_code"),
        # SQLite has no median: these hand each stage's durations over in order (read by
        # OFFSET); PostgreSQL has percentile_cont and is spared their upkeep
        *(
            Index(
                f"ix_client_stage_{days}",
                "campaign_id",
                days,
                sqlite_where=text(f"{days} IS NOT NULL"),
            ).ddl_if(dialect="sqlite")
            for days in (
                "called_days",
                "reached_days",
                "wecom_days",
                "pushed_days",
                "converted_days",
            )
        ),
    )
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    client_id: str = Field(foreign_key="client.client_id", primary_key=True)
    advisor_code: str | None = None
    assigned_at: dt.datetime | None = None
    control: bool = False
    dnc: bool = False
    called_at: dt.datetime | None = None  # first call
    reached_at: dt.datetime | None = None  # first answered call
    wecom_at: dt.datetime | None = None  # first WeCom add, self-reported or confirmed
    wecom_confirmed_at: dt.datetime | None = None  # first add confirmed by WeCom's API
    pushed_at: dt.datetime | None = None
    converted_at: dt.datetime | None = None
    reactivated_at: dt.datetime | None = None  # traded again, from the core system's export
    calls: int = 0  # distinct call times
    attempts: int = 0  # max(highest attempts reported, calls)
    last_call_at: dt.datetime | None = None
    callback_at: dt.datetime | None = None  # latest call-back-later time asked for
    do_not_call: bool = False  # a call ended with do-not-call in this campaign
    # Worked out once here under the campaign's stages (`stages.funnel_columns`), not per report:
    stages_reached: int = 0  # the stages they count at: the furthest with evidence, 1-based
    skipped_stage: bool = False  # evidence for a later stage without an earlier one's own
    # days from assignment to first reaching the stage (its or a later stage's evidence);
    # None when not reached or outside the funnel (no advisor, control group)
    called_days: float | None = None
    reached_days: float | None = None
    wecom_days: float | None = None
    pushed_days: float | None = None
    converted_days: float | None = None


class WorkbookIssue(SQLModel, table=True):
    """A call workbook handed to an advisor: which issue number, when, how many clients.

    The workbook's hidden stamp (HMAC over campaign, advisor, issue and client ids)
    is what an upload is checked against; this row says the issue was really made.
    """

    __tablename__ = "workbook_issue"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    advisor_code: str = Field(foreign_key="advisor.code", primary_key=True)
    issue: int = Field(primary_key=True)
    issued_at: dt.datetime
    clients: int
    digest: str
    path: str


class WeComRelation(SQLModel, table=True):
    """An (advisor, external contact) relation as `wecom sync` last saw it for a campaign.

    A snapshot, not history (the events are the history): updated at every sync;
    `lost_at` is set when a complete sync of the advisor no longer shows it.
    `client_id` is the assigned client it was matched to (by `match`: state | mobile).
    """

    __tablename__ = "wecom_relation"
    __table_args__ = (UniqueConstraint("campaign_id", "userid", "external_userid"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    userid: str  # the advisor's WeCom userid
    external_userid: str
    advisor_code: str | None = None
    client_id: str | None = None
    match: str | None = None  # state | mobile | ambiguous
    state: str | None = None
    remark_mobiles: str | None = None  # JSON list, as the advisor typed them
    add_way: int = 0
    createtime: dt.datetime
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    lost_at: dt.datetime | None = None


class WeComContactWay(SQLModel, table=True):
    """A 「联系我」 way made by `wecom qr`: its `state` ties an add to campaign and client."""

    __tablename__ = "wecom_contact_way"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    advisor_code: str = Field(foreign_key="advisor.code")
    client_id: str | None = None  # None: the advisor's way for the whole campaign
    state: str = Field(unique=True)
    config_id: str
    qr_code: str
    created_at: dt.datetime
    removed_at: dt.datetime | None = None


class WeComTransfer(SQLModel, table=True):
    """A customer handed over on WeCom after a reassignment, and what WeCom says of it.

    `status` as transfer_result reports it (1 done, 2 waiting, 3 refused, 4 over limit),
    None when the transfer did not start (`errcode` says why).
    """

    __tablename__ = "wecom_transfer"
    __table_args__ = (UniqueConstraint("campaign_id", "handover", "takeover", "external_userid"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    handover: str
    takeover: str
    resigned: bool
    external_userid: str
    client_id: str | None = None
    errcode: int
    status: int | None = None
    takeover_time: dt.datetime | None = None
    started_at: dt.datetime
    updated_at: dt.datetime


class AccessUser(SQLModel, table=True):
    """A database login's role on a shared PostgreSQL (`reactivate.access`): ops, manager,
    advisor or analyst; an advisor's code; who granted it and when. The row-level
    security policies read it by `current_user`."""

    __tablename__ = "access_user"
    db_user: str = Field(primary_key=True)
    role: str  # ops | manager | advisor | analyst
    advisor_code: str | None = Field(default=None, foreign_key="advisor.code")
    granted_by: str
    granted_at: dt.datetime


class AccessBranch(SQLModel, table=True):
    """A branch a manager's login sees."""

    __tablename__ = "access_branch"
    db_user: str = Field(foreign_key="access_user.db_user", primary_key=True)
    branch: str = Field(foreign_key="branch.name", primary_key=True)


class AccessGroup(SQLModel, table=True):
    """The PostgreSQL group role standing for each of our roles, made by `access init`."""

    __tablename__ = "access_group"
    role: str = Field(primary_key=True)
    db_role: str


def _table_of(model: type[SQLModel]) -> Table:
    """The Core table behind `model`: SQLModel leaves `__table__` untyped, so it is read here once."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# Typed handles for Core statements (`select(MEMBERS)`, `insert(EVENTS)`), one per table.
META = _table_of(Meta)
CAMPAIGNS = _table_of(CampaignRecord)
BRANCHES = _table_of(Branch)
BRANCH_ALIASES = _table_of(BranchAlias)
ADVISORS = _table_of(Advisor)
CLIENTS = _table_of(Client)
MEMBERS = _table_of(Member)
EVENTS = _table_of(Event)
IMPORTS = _table_of(ImportRecord)
DO_NOT_CALL = _table_of(DoNotCall)
WECOM_TOKENS = _table_of(WeComToken)
CLIENT_STAGES = _table_of(ClientStage)
WORKBOOK_ISSUES = _table_of(WorkbookIssue)
WECOM_RELATIONS = _table_of(WeComRelation)
WECOM_WAYS = _table_of(WeComContactWay)
WECOM_TRANSFERS = _table_of(WeComTransfer)
ACCESS_USERS = _table_of(AccessUser)
ACCESS_BRANCHES = _table_of(AccessBranch)
ACCESS_GROUPS = _table_of(AccessGroup)

# Reports ask "did this advisor upload anything" and "did a WeCom sync ever run" per
# campaign: answered from this index instead of a scan of every event.
Index("ix_event_campaign_source", EVENTS.c.campaign_id, EVENTS.c.source, EVENTS.c.advisor_code)
