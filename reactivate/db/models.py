"""The tables. One module, so the whole schema reads in one place.

Conventions: datetimes are aware and stored as UTC (`UTCDateTime`); ids that users see
(client ids, advisor codes, campaign slugs) are text; events are append-only: a mistake
is undone by a new event that voids an earlier one, never by an update.

The tables are SQLAlchemy Core tables, written and read by Core statements
(`select(MEMBERS)`, `insert(EVENTS)`): no ORM class, so that a command imports SQLAlchemy's
Core alone (ORM models cost every command a fifth of a second to import and build;
docs/performance.md, "Starting up"). A change to the tables is a revision in
`reactivate.db.migrations`; tests/test_migrations.py holds the two together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
    types,
)

#: What releases before schema revisions called this schema (`meta.schema_version`).
#: A change to the tables is now a revision in `reactivate.db.migrations`, not a bump here.
SCHEMA_VERSION = 2

METADATA = MetaData()


class UTCDateTime(types.TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC and read back aware, in UTC (SQLite keeps no zone)."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        if isinstance(value, dt.timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a naive datetime: the database stores aware times (UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


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


def _time(name: str, *, nullable: bool = False) -> Column[dt.datetime]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _flag(name: str, default: bool = False) -> Column[bool]:
    return Column(name, Boolean, nullable=False, default=default)


def _count(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False, default=0)


# Key/value facts about the database itself: schema version, workbook secret.
META = Table(
    "meta",
    METADATA,
    _text("key", primary_key=True, nullable=False),
    _text("value", nullable=False),
)

# A registered campaign; `definition` keeps the TOML text it was registered from.
CAMPAIGNS = Table(
    "campaign",
    METADATA,
    Column("id", Integer, primary_key=True),
    _text("slug", nullable=False, unique=True, index=True),
    _text("name", nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    _text("definition", nullable=False),
    _text("source_path", nullable=False),
    Column("status", String(), nullable=False, default="open"),  # open | closed
    _time("registered_at"),
    _time("closed_at", nullable=True),
)

# A branch (营业部) as the roster names it.
BRANCHES = Table(
    "branch",
    METADATA,
    _text("name", primary_key=True, nullable=False),
    _text("code", unique=True),
)

# Another spelling of a branch name (normalised key) -> the roster's name.
BRANCH_ALIASES = Table(
    "branch_alias",
    METADATA,
    _text("alias_key", primary_key=True, nullable=False),
    _text("branch_name", ForeignKey("branch.name"), nullable=False),
)

# An advisor (客户经理) from the roster; reloading updates, never deletes.
ADVISORS = Table(
    "advisor",
    METADATA,
    _text("code", primary_key=True, nullable=False),
    _text("name", nullable=False),
    _text("branch", ForeignKey("branch.name"), nullable=False, index=True),
    _text("wecom_userid"),
    Column("capacity", Integer),
    _flag("active", default=True),
    _time("updated_at"),
)

# A client account as the latest export describes it.
CLIENTS = Table(
    "client",
    METADATA,
    _text("client_id", primary_key=True, nullable=False),
    _text("name"),
    _text("mobile"),
    _text("branch", index=True),
    Column("assets", Float),
    Column("last_trade_date", Date),
    Column("risk", Integer),  # tolerance C1-C5 as 1-5
    Column("opened_at", Date),
    _text("previous_advisor"),
    _text("status"),
    _text("extra"),  # JSON object of the export's unknown columns
    _time("updated_at"),
)

# Every file brought in, applied or refused: what, from where, counts, who, when.
IMPORTS = Table(
    "import_record",
    METADATA,
    Column("id", Integer, primary_key=True),
    _text("kind", nullable=False),  # accounts | roster | dnc | results | activity
    Column("campaign_id", Integer, ForeignKey("campaign.id")),
    _text("file_name", nullable=False),
    _text("sha256", nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    _text("counts", nullable=False),  # JSON object of the summary
    _text("status", nullable=False),  # applied | refused | dry_run | skipped
    _text("run_by", nullable=False),
    _time("run_at"),
)

# A client's membership in a campaign, with the current assignment (rebuildable from events).
MEMBERS = Table(
    "member",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("client_id", ForeignKey("client.client_id"), primary_key=True, nullable=False),
    _time("joined_at"),
    Column("import_id", Integer, ForeignKey("import_record.id")),
    _flag("dnc"),
    _flag("control"),
    _text("advisor_code", ForeignKey("advisor.code"), index=True),
    _time("assigned_at", nullable=True),
    # when an assign run first considered this member (control-group draw included):
    # later runs draw their holdout share only from members not yet considered
    _time("considered_at", nullable=True),
)

# One piece of evidence about a client in a campaign. Append-only.
#
# `stage` is the event kind (see `reactivate.rules.funnel`: assigned, call, wecom_added,
# pushed, ...); `value` carries the detail (a call disposition, a product code, an
# advisor code). A 'void' event cancels the event its `voids_event_id` names.
EVENTS = Table(
    "event",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False),
    _text("client_id", ForeignKey("client.client_id"), nullable=False),
    _text("stage", nullable=False),  # an event kind: reactivate.rules.funnel.EVENT_KINDS
    _text("value"),
    _time("occurred_at"),
    _text("advisor_code"),
    _text("source", nullable=False),  # upload | wecom | assign | correct | undo | demo
    Column("import_id", Integer, ForeignKey("import_record.id")),
    _text("source_file"),
    Column("source_row", Integer),
    _text("source_ref"),  # an API reference: external userid, msgid, ...
    _text("recorded_by", nullable=False),
    _time("recorded_at"),
    Column("voids_event_id", Integer, ForeignKey("event.id")),
    Index("ix_event_member_stage", "campaign_id", "client_id", "stage"),
    Index("ix_event_import", "import_id"),
    # only the void events (revision 0014; PostgreSQL's made by the revision alone:
    # `VOIDS_INDEX`): every other event had an entry of NULL here, which nothing reads
    Index(
        "ix_event_voids", "voids_event_id", sqlite_where=text("voids_event_id IS NOT NULL")
    ).ddl_if(dialect="sqlite"),
    # Reports ask "did this advisor upload anything" and "did a WeCom sync ever run" per
    # campaign: answered from this index instead of a scan of every event.
    Index("ix_event_campaign_source", "campaign_id", "source", "advisor_code"),
)

# The firm-wide do-not-call list: by client id or by mobile.
DO_NOT_CALL = Table(
    "do_not_call",
    METADATA,
    Column("id", Integer, primary_key=True),
    _text("kind", nullable=False),  # client_id | mobile
    _text("value", nullable=False),
    _text("reason"),
    _time("added_at"),
    Column("import_id", Integer, ForeignKey("import_record.id")),
    UniqueConstraint("kind", "value"),
)

# A cached WeCom access token, keyed by corp and app, shared across invocations.
WECOM_TOKENS = Table(
    "wecom_token",
    METADATA,
    _text("key", primary_key=True, nullable=False),
    _text("token", nullable=False),
    _time("expires_at"),
)

#: The summary's indexes a date window reads on SQLite (revision 0005): name -> (columns,
#: the rows indexed). An advisor's upload into a 1M campaign paid about 0.05 s CPU per
#: index when every row had an entry (benchmarks/README.md). PostgreSQL has only the last
#: (revisions 0007 and 0011, `PARTIAL_ON_POSTGRESQL`): its week read the summary faster by
#: one parallel scan than by the others' ranges (12.2 s against 22.8 s at 10M), and now
#: finds those clients by their evidence span (`SPAN_INDEX`).
WINDOW_INDEXES = {
    "ix_client_stage_called": (
        ("campaign_id", "called_at", "last_call_at"),
        "called_at IS NOT NULL",
    ),
    "ix_client_stage_wecom": (("campaign_id", "wecom_at"), "wecom_at IS NOT NULL"),
    "ix_client_stage_pushed": (("campaign_id", "pushed_at"), "pushed_at IS NOT NULL"),
    "ix_client_stage_converted": (("campaign_id", "converted_at"), "converted_at IS NOT NULL"),
    "ix_client_stage_dnc": (("campaign_id", "dnc", "do_not_call"), "dnc AND do_not_call"),
}

#: PostgreSQL's index of the summary by each client's evidence span (revision 0010's
#: SP-GiST of the spans, revision 0015's GiST of them as points, `stages.span_point`): a
#: date window finds by it the clients first seen before the window who have evidence
#: inside it (`stages.span_holds`). Made by the revision alone, not described here: SQLAlchemy
#: describes an index's method (`postgresql_using`) only by importing its PostgreSQL
#: dialect, which every command importing the tables would then do.
SPAN_INDEX = "ix_client_stage_span"
#: The summary's indexes PostgreSQL has as revision 0011 makes them, each holding only the
#: rows read through it (the assigned members', or those both on the do-not-call list and
#: with a do-not-call answer), so that a load's new members, who have no advisor and no
#: events, have no entry in them. Described below for SQLite alone: `postgresql_where`
#: would make every SQLite command import PostgreSQL's dialect.
PARTIAL_ON_POSTGRESQL = (
    "ix_client_stage_advisor",
    "ix_client_stage_attempt",
    "ix_client_stage_dnc",
)
#: PostgreSQL's indexes the revisions make that the tables here do not describe for it.
REVISION_ONLY = (SPAN_INDEX, *PARTIAL_ON_POSTGRESQL)
#: The index of the events each void event cancels, holding the void events alone
#: (revision 0014); described above for SQLite alone, as `PARTIAL_ON_POSTGRESQL`.
VOIDS_INDEX = "ix_event_voids"
#: PostgreSQL's summary columns the revisions make that the tables here do not describe:
#: each client's later call times (revision 0012, `stages.LATER_CALLS`), of a type
#: (`tstzmultirange`) SQLite has not, which only PostgreSQL's windows read.
REVISION_ONLY_COLUMNS = ("later_calls", "later_reached")

#: The summary's columns of days from assignment to each stage.
_DAYS = ("called_days", "reached_days", "wecom_days", "pushed_days", "converted_days")

#: The summary's latest time of each kind of evidence besides calls (revision 0009).
LAST_TIMES = ("last_wecom_at", "last_pushed_at", "last_converted_at")

# Per member, where they are in the funnel: a cache rebuilt from member + events.
#
# Reports read this instead of rescanning every event; `reactivate.db.stages.refresh`
# keeps it in step inside the transaction that writes the events.
CLIENT_STAGES = Table(
    "client_stage",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("client_id", ForeignKey("client.client_id"), primary_key=True, nullable=False),
    _text("advisor_code"),
    _time("assigned_at", nullable=True),
    _flag("control"),
    _flag("dnc"),
    _time("called_at", nullable=True),  # first call
    _time("reached_at", nullable=True),  # first answered call
    _time("wecom_at", nullable=True),  # first WeCom add, self-reported or confirmed
    _time("wecom_confirmed_at", nullable=True),  # first add confirmed by WeCom's API
    _time("pushed_at", nullable=True),
    _time("converted_at", nullable=True),
    _time("reactivated_at", nullable=True),  # traded again, from the core system's export
    _count("calls"),  # distinct call times
    _count("attempts"),  # max(highest attempts reported, calls)
    _time("last_call_at", nullable=True),
    _time("callback_at", nullable=True),  # latest call-back-later time asked for
    _flag("do_not_call"),  # a call ended with do-not-call in this campaign
    # Worked out once here under the campaign's stages (`stages.funnel_columns`), not per report:
    _count("stages_reached"),  # the stages they count at: the furthest with evidence, 1-based
    _flag("skipped_stage"),  # evidence for a later stage without an earlier one's own
    # days from assignment to first reaching the stage (its or a later stage's evidence);
    # None when not reached or outside the funnel (no advisor, control group)
    *(Column(days, Float) for days in _DAYS),
    # The breakdown keys as they were when the row was written, so that the tallies
    # (`STAGE_TALLIES`, `STAGE_DAYS`) lose exactly what the row had added when rewritten
    _text("branch"),  # the client's branch
    Column("risk", Integer),  # the client's risk tolerance, 1-5
    _text("asset_band"),  # the client's assets' band under the campaign's edges
    _text("cohort"),  # Monday (ISO date) of the week of assignment, campaign time
    # which of the client's calls (by distinct call time) first reached them (`--by attempt`)
    Column("reached_call", Integer),
    # the latest WeCom add, push and conversion (revision 0009), as `last_call_at` is for
    # calls: a date window reads the events of a client first seen at such a kind before
    # it only when it had more of that kind since its start (`report.source._returning`)
    *(_time(name, nullable=True) for name in LAST_TIMES),
    # (on PostgreSQL, this one and the next two only for the rows read through them:
    # `PARTIAL_ON_POSTGRESQL`)
    Index("ix_client_stage_advisor", "campaign_id", "advisor_code").ddl_if(dialect="sqlite"),
    # `--by attempt` counts the assigned clients by calls and reached call: read from this
    # index alone (it holds what tells who is assigned), in its order, instead of scanning
    # and sorting every summary row.
    Index(
        "ix_client_stage_attempt", "campaign_id", "calls", "reached_call", "advisor_code", "control"
    ).ddl_if(dialect="sqlite"),
    # A date window reads one by one only the clients first seen before it who may have
    # evidence inside it: a first call, WeCom add, push or conversion before it (the
    # calls: and last called after its start) or inside it
    # (`report.source._returning_inside`), each a range here;
    # and its never-called count the few members both on the do-not-call list and with
    # a do-not-call answer, whom the tallies do not count (`report.funnels._callable`).
    # Only the rows that have the value: an upload rewrites every index entry of each
    # summary row it touches (`WINDOW_INDEXES`; PostgreSQL has the last alone).
    *(
        Index(name, *columns, sqlite_where=text(where)).ddl_if(dialect="sqlite")
        for name, (columns, where) in WINDOW_INDEXES.items()
    ),
)

# The report's counts per breakdown group, kept in step with `client_stage`.
#
# One row per campaign, breakdown (`dim`: cohort, advisor, branch, risk, asset_band),
# group `key` ('' when unknown), assignment time (cohort rows only; else a far-future
# placeholder) and `arm` (assigned, control, none: no advisor). Every column is a count of
# the summary rows in the group; `at{j}` counts those at exactly j stages, `rat{j}` the
# reactivated among them. `db.tally` adds and subtracts rows in the transaction that
# rewrites the summary, so a report reads a few thousand rows, not every client.
STAGE_TALLIES = Table(
    "stage_tally",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("dim", primary_key=True, nullable=False),
    _text("key", primary_key=True, nullable=False),
    Column("assigned_at", UTCDateTime(), primary_key=True, nullable=False),
    _text("arm", primary_key=True, nullable=False),
    *(
        _count(name)
        for name in (
            "members",
            "dnc",  # on the do-not-call list when they joined
            "reactivated",
            "confirmed",  # a WeCom add confirmed by WeCom's API
            "skipped",
            "quiet",  # at no stage, neither do-not-call member nor do-not-call answer
            "dnc_calls",  # a call ended with do-not-call
            "wecom_unconfirmed",
            *(f"at{j}" for j in range(1, 6)),
            *(f"rat{j}" for j in range(1, 6)),
        )
    ),
)

# Per breakdown group and stage, how many assigned clients first reached the stage after
# each number of whole days: exact medians of whole days without reading clients.
STAGE_DAYS = Table(
    "stage_days",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("dim", primary_key=True, nullable=False),
    _text("key", primary_key=True, nullable=False),
    _text("stage", primary_key=True, nullable=False),
    Column("day", Integer, primary_key=True, autoincrement=False),
    _count("clients"),
)

# Per breakdown group and local day: how many assigned clients first reached each stage
# that day after each number of whole days (`stage`: a stage of the campaign), had their
# first WeCom add (`added`) or its first confirmation (`confirmed`) that day (day 0), and
# the days on which a window first seen on `date` and ending then counts a client as
# skipping a stage (`skipped`: cohort rows, `day` the days after `date`, `clients` +1 or
# -1). `date` is the day's Julian day number; cohort rows carry the assignment time (the
# never-called count's cut), the rest a far-future placeholder. A date window's counts
# and medians are sums over the days inside it (`report.windows`).
STAGE_DATES = Table(
    "stage_dates",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("dim", primary_key=True, nullable=False),
    Column("date", Integer, primary_key=True, autoincrement=False),
    _text("key", primary_key=True, nullable=False),
    Column("assigned_at", UTCDateTime(), primary_key=True, nullable=False),
    _text("stage", primary_key=True, nullable=False),
    Column("day", Integer, primary_key=True, autoincrement=False),
    _count("clients"),
    _count("reactivated"),  # of them, reactivated (whenever)
    _count("callable"),  # of them, neither on the do-not-call list nor so answered
)

# A call workbook handed to an advisor: which issue number, when, how many clients.
#
# The workbook's hidden stamp (HMAC over campaign, advisor, issue and client ids) is what
# an upload is checked against; this row says the issue was really made.
WORKBOOK_ISSUES = Table(
    "workbook_issue",
    METADATA,
    Column("campaign_id", Integer, ForeignKey("campaign.id"), primary_key=True),
    _text("advisor_code", ForeignKey("advisor.code"), primary_key=True, nullable=False),
    Column("issue", Integer, primary_key=True),
    _time("issued_at"),
    Column("clients", Integer, nullable=False),
    _text("digest", nullable=False),
    _text("path", nullable=False),
)

# An (advisor, external contact) relation as `wecom sync` last saw it for a campaign.
#
# A snapshot, not history (the events are the history): updated at every sync; `lost_at`
# is set when a complete sync of the advisor no longer shows it. `client_id` is the
# assigned client it was matched to (by `match`: state | mobile).
WECOM_RELATIONS = Table(
    "wecom_relation",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False, index=True),
    _text("userid", nullable=False),  # the advisor's WeCom userid
    _text("external_userid", nullable=False),
    _text("advisor_code"),
    _text("client_id"),
    _text("match"),  # state | mobile | ambiguous
    _text("state"),
    _text("remark_mobiles"),  # JSON list, as the advisor typed them
    _count("add_way"),
    _time("createtime"),
    _time("first_seen_at"),
    _time("last_seen_at"),
    _time("lost_at", nullable=True),
    UniqueConstraint("campaign_id", "userid", "external_userid"),
)

# A 「联系我」 way made by `wecom qr`: its `state` ties an add to campaign and client.
WECOM_WAYS = Table(
    "wecom_contact_way",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaign.id"), nullable=False, index=True),
    _text("advisor_code", ForeignKey("advisor.code"), nullable=False),
    _text("client_id"),  # None: the advisor's way for the whole campaign
    _text("state", nullable=False, unique=True),
    _text("config_id", nullable=False),
    _text("qr_code", nullable=False),
    _time("created_at"),
    _time("removed_at", nullable=True),
)

# A customer handed over on WeCom after a reassignment, and what WeCom says of it.
#
# `status` as transfer_result reports it (1 done, 2 waiting, 3 refused, 4 over limit),
# None when the transfer did not start (`errcode` says why).
WECOM_TRANSFERS = Table(
    "wecom_transfer",
    METADATA,
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

# A database login's role on a shared PostgreSQL (`reactivate.access`): ops, manager,
# advisor or analyst; an advisor's code; who granted it and when. The row-level security
# policies read it by `current_user`.
ACCESS_USERS = Table(
    "access_user",
    METADATA,
    _text("db_user", primary_key=True, nullable=False),
    _text("role", nullable=False),  # ops | manager | advisor | analyst
    _text("advisor_code", ForeignKey("advisor.code")),
    _text("granted_by", nullable=False),
    _time("granted_at"),
)

# A branch a manager's login sees.
ACCESS_BRANCHES = Table(
    "access_branch",
    METADATA,
    _text("db_user", ForeignKey("access_user.db_user"), primary_key=True, nullable=False),
    _text("branch", ForeignKey("branch.name"), primary_key=True, nullable=False),
)

# The PostgreSQL group role standing for each of our roles, made by `access init`.
ACCESS_GROUPS = Table(
    "access_group",
    METADATA,
    _text("role", primary_key=True, nullable=False),
    _text("db_role", nullable=False),
)
