"""Who may see and change what on a shared PostgreSQL, enforced by the database itself.

Four roles: **ops** (head office: everything), **manager** (reads the members of their
branches, names and mobiles never), **advisor** (reads and uploads for their own clients
only) and **analyst** (reads every branch, names and mobiles never). Each is a PostgreSQL
group role (`<prefix>_ops`, ...) made by `init`; a person's login role is made a member
by `grant`, and a row of `access_user` (keyed by the login's name, `current_user`) says
which advisor code it is and `access_branch` which branches a manager sees.

What a role may read and write is decided by the database: table and column privileges,
and row-level security policies that key every row of a personal or per-advisor table
on `current_user` through those two tables. A member's row is what the rest hangs on:
an advisor sees the members assigned to them, a manager the members whose client is of
their branches (as `report --by branch` counts them), and an event or a summary row is
visible when its member is. So a reassignment moves access with the clients. Managers
and analysts have no privilege on names, mobiles or the other personal columns (they
read them masked, through the view `client_masked`), and nobody but ops on the workbook
secret, the WeCom token cache and transfers: an advisor's upload checks its stamps by a
function that answers yes or no (`reactivate_stamp_valid`).

Our code checks first and refuses clearly (`require`, `check_upload`, `may_void_import`,
`may_correct`), so a person learns what their role allows before any work; the policies
hold when a check is bypassed. The owner of the schema (who ran `reactivate init` or `db upgrade`) and
superusers act as ops. On SQLite there is one user, the file's owner: no roles, and the
commands here refuse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from reactivate.clock import utcnow
from reactivate.db import stages
from reactivate.db.import_log import who
from reactivate.db.reads import SQLiteConnection, text
from reactivate.errors import AccessDenied, ConfigError
from reactivate.messages import t
from reactivate.privacy import masked_mobile_sql, masked_name_sql

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from reactivate.db.migrate import Upgraded
    from reactivate.db.reads import SQLiteEngine
    from reactivate.rules.campaign import Campaign
    from reactivate.sheets.workbook import Stamp

OPS, MANAGER, ADVISOR, ANALYST = "ops", "manager", "advisor", "analyst"
ROLES = (OPS, MANAGER, ADVISOR, ANALYST)
DEFAULT_PREFIX = "reactivate"

# A login or group role name we create or name in GRANT: plain identifiers only, so
# quoting never has to carry a surprise.
_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")


@dataclasses.dataclass(frozen=True)
class Caller:
    """The person running a command, as the database knows them."""

    user: str
    role: str
    advisor_code: str | None = None

    @property
    def ops(self) -> bool:
        return self.role == OPS


# --- who is calling ------------------------------------------------------------------


def enforced(conn: Connection | SQLiteConnection) -> TypeGuard[Connection]:
    """Whether roles are in force: PostgreSQL, with `access init` done."""
    if isinstance(conn, SQLiteConnection) or conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT 1 FROM access_group LIMIT 1")).first() is not None


def caller(conn: Connection | SQLiteConnection) -> Caller | None:
    """The caller's role; None where roles are not in force (SQLite, or before `access
    init`): everything is allowed there, as before. Refuses a login with no role."""
    if not enforced(conn):
        return None
    row = conn.execute(
        text(
            "SELECT current_user AS user, u.role, u.advisor_code,"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super,"
            " pg_has_role(current_user, (SELECT relowner FROM pg_class"
            "   WHERE oid = 'access_user'::regclass), 'MEMBER') AS owner"
            " FROM (SELECT 1) one LEFT JOIN access_user u ON u.db_user = current_user"
        )
    ).one()
    if row.role is None:
        if row.super or row.owner:
            return Caller(user=row.user, role=OPS)
        raise AccessDenied(t("access.no_role", user=row.user))
    return Caller(row.user, row.role, row.advisor_code)


def caller_of(engine: Engine | SQLiteEngine) -> Caller | None:
    """`caller` on a connection of its own."""
    with engine.connect() as conn:
        return caller(conn)


def explain_refusal(engine: Engine | SQLiteEngine, exc: Exception) -> None:
    """When the database refused (SQLSTATE 42501) a login that has no role at all, say
    that (`AccessDenied`) instead; otherwise return, for the caller to re-raise `exc`."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
        caller_of(engine)


def require(source: Engine | Connection, action: str, *allowed: str) -> Caller | None:
    """The caller, when their role is ops or one of `allowed`; else `AccessDenied` naming
    `action` (a message key) and who may do it."""
    if source.dialect.name != "postgresql":
        return None  # no connection opened: SQLite has no roles
    from sqlalchemy import Engine

    if isinstance(source, Engine):
        found = caller_of(source)
    else:
        found = caller(source)
    if found is None or found.ops or found.role in allowed:
        return found
    raise _denied(found, action, *allowed)


def _denied(who_calls: Caller, action: str, *allowed: str) -> AccessDenied:
    return AccessDenied(
        t(
            "access.denied",
            user=who_calls.user,
            role=who_calls.role,
            action=t(action),
            allowed=", ".join((OPS, *allowed)),
        )
    )


# --- checks before work ----------------------------------------------------------------


def check_upload(
    conn: Connection,
    who_calls: Caller | None,
    campaign_id: int,
    rows: Iterable[tuple[str, int, str]],
    advisor_option: str | None,
) -> None:
    """Refuse an upload naming a client who is not the calling advisor's: `rows` are
    (file, row, client id). Unknown clients are left to the row checks."""
    if who_calls is None or who_calls.ops:
        return
    if who_calls.role != ADVISOR or who_calls.advisor_code is None:
        raise _denied(who_calls, "access.action.upload", ADVISOR)
    own = who_calls.advisor_code
    if advisor_option is not None and advisor_option != own:
        raise AccessDenied(t("access.upload_other_advisor", advisor=own, other=advisor_option))
    listed = list(rows)
    owners = advisors_of(conn, campaign_id, sorted({client for _, _, client in listed}))
    for file, row, client in listed:
        owner = owners.get(client)
        if client in owners and owner != own:
            raise AccessDenied(
                t(
                    "access.upload_not_own",
                    advisor=own,
                    file=file,
                    row=row,
                    owner=owner or t("access.nobody"),
                )
            )


def advisors_of(
    conn: Connection, campaign_id: int, client_ids: Sequence[str]
) -> dict[str, str | None]:
    """Whose each of `client_ids` is in the campaign (members only), whatever the caller
    may read: a function of the schema's owner that says no more than the advisor code."""
    if not client_ids:
        return {}
    found = conn.execute(
        text("SELECT client_id, advisor_code FROM reactivate_advisors_of(:cid, :ids)"),
        {"cid": campaign_id, "ids": list(client_ids)},
    )
    return {row.client_id: row.advisor_code for row in found}


def import_run_by(conn: Connection, who_calls: Caller | None, import_id: int) -> str | None:
    """Who ran import `import_id`, for an advisor who cannot read it (someone else's):
    so that undo can say whose it is rather than that there is none."""
    if who_calls is None or who_calls.role != ADVISOR:
        return None
    found = conn.execute(text("SELECT reactivate_import_run_by(:id)"), {"id": import_id}).scalar()
    return None if found is None else str(found)


def may_void_import(who_calls: Caller | None, import_id: int, run_by: str) -> None:
    """Undo: ops any upload, an advisor only their own, managers and analysts none."""
    if who_calls is None or who_calls.ops:
        return
    if who_calls.role != ADVISOR:
        raise _denied(who_calls, "access.action.undo", ADVISOR)
    if run_by != who_calls.user:
        raise AccessDenied(t("access.undo_not_own", user=who_calls.user, id=import_id, by=run_by))


def may_correct(conn: Connection, who_calls: Caller | None, campaign_id: int, client: str) -> None:
    """Correct: ops any client, an advisor only their own, managers and analysts none."""
    if who_calls is None or who_calls.ops:
        return
    if who_calls.role != ADVISOR:
        raise _denied(who_calls, "access.action.correct", ADVISOR)
    owners = advisors_of(conn, campaign_id, [client])
    owner = owners.get(client)
    if client in owners and owner != who_calls.advisor_code:
        raise AccessDenied(
            t(
                "access.correct_not_own",
                advisor=who_calls.advisor_code,
                client=client,
                owner=owner or t("access.nobody"),
            )
        )


def stamp_check(conn: Connection, who_calls: Caller | None) -> Callable[[Stamp], bool]:
    """How this caller's upload checks a workbook's stamp: with the secret itself for ops
    (and where roles are not in force); else by asking the database, which holds the
    secret out of reach and answers only whether a stamp is right."""
    from reactivate.db.meta import workbook_secret
    from reactivate.sheets.workbook import stamp_message, verify_stamp

    if who_calls is None or who_calls.ops:
        secret = workbook_secret(conn)  # created on first use: a write

        def with_secret(stamp: Stamp) -> bool:
            return verify_stamp(stamp, secret)

        return with_secret

    def by_database(stamp: Stamp) -> bool:
        # called between the upload's transactions: this question is one of its own
        with conn.begin():
            return bool(
                conn.execute(
                    text("SELECT reactivate_stamp_valid(:message, :digest)"),
                    {"message": stamp_message(stamp), "digest": stamp.digest},
                ).scalar()
            )

    return by_database


def partial_view(conn: Connection | SQLiteConnection) -> bool:
    """Whether the caller reads only part of a campaign (a manager or an advisor), so a
    report must count the rows it may read rather than the campaign-wide tallies."""
    found = caller(conn)
    return found is not None and found.role in (MANAGER, ADVISOR)


def client_source(conn: Connection | SQLiteConnection) -> str:
    """Where a query reads clients' names and mobiles: `client`, or for managers and
    analysts `client_masked`, which the database masks (138****8000, 张*) as
    `reactivate.privacy` does, so that masking again changes nothing."""
    found = caller(conn)
    return "client_masked" if found is not None and found.role in (MANAGER, ANALYST) else "client"


# --- the commands: init, grant, revoke, list -------------------------------------------


def postgres_only(url: str) -> None:
    """Refuse a database that is not PostgreSQL (before it is opened: a SQLite path
    need not even exist to be the wrong kind)."""
    if not url.startswith("postgresql"):
        raise ConfigError(t("access.needs_postgres"))


def _postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise ConfigError(t("access.needs_postgres"))


def _quote(conn: Connection, name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise ConfigError(t("access.bad_name", name=name))
    return str(conn.dialect.identifier_preparer.quote_identifier(name))


def _groups(conn: Connection) -> dict[str, str]:
    rows = conn.execute(text("SELECT role, db_role FROM access_group")).all()
    if not rows:
        raise ConfigError(t("access.not_initialised"))
    return {row.role: row.db_role for row in rows}


@dataclasses.dataclass
class InitSummary:
    """What `access init` made: the group roles (created now or found), the policies."""

    schema: str
    groups: dict[str, str]
    created: list[str]
    policies: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Tables every role reads whole: campaigns, the roster, the schema's revision, our groups.
_OPEN_TABLES = ("campaign", "branch", "branch_alias", "advisor", "alembic_version", "access_group")
# Personal or per-advisor tables, or secrets: row-level security on, ops sees every row.
_GUARDED_TABLES = (
    "client",
    "member",
    "event",
    "client_stage",
    "import_record",
    "workbook_issue",
    "wecom_relation",
    "wecom_contact_way",
    "wecom_transfer",
    "do_not_call",
    "meta",
    "wecom_token",
    "access_user",
    "access_branch",
)
# What managers and analysts may read of a client and of a WeCom relation: no name,
# mobile, export extras or mobiles typed as remarks.
_CLIENT_COLUMNS = (
    "client_id",
    "branch",
    "assets",
    "last_trade_date",
    "risk",
    "opened_at",
    "previous_advisor",
    "status",
    "updated_at",
)
_RELATION_COLUMNS = (
    "id",
    "campaign_id",
    "userid",
    "external_userid",
    "advisor_code",
    "client_id",
    "match",
    "state",
    "add_way",
    "createtime",
    "first_seen_at",
    "last_seen_at",
    "lost_at",
)


def _me(user: str = "current_user") -> str:
    """The advisor code of login `user`: what every advisor's policy is keyed on."""
    return f"(SELECT u.advisor_code FROM access_user u WHERE u.db_user = {user})"


_ME = _me()
_MY_BRANCHES = "(SELECT b.branch FROM access_branch b WHERE b.db_user = current_user)"
# a member is in a manager's branch by its client's branch, as `report --by branch` counts
_IN_MY_BRANCHES = (
    f"client_id IN (SELECT c.client_id FROM client c WHERE c.branch IN {_MY_BRANCHES})"
)
_MY_ADVISORS = (
    "(SELECT a.code FROM advisor a WHERE a.branch IN"
    " (SELECT b.branch FROM access_branch b WHERE b.db_user = current_user))"
)


def _member_visible(table: str) -> str:
    # the member's own policy decides: visible member => visible event. Uncorrelated, so
    # the planner hashes the visible members once; a correlated EXISTS in a policy is
    # costed per row, and at 20,000 events that estimate set off JIT compilation (1.4 s)
    return f"({table}.campaign_id, {table}.client_id) IN (SELECT m.campaign_id, m.client_id FROM member m)"


def _policies(g: dict[str, str]) -> list[tuple[str, str, str, str, str | None, str | None]]:
    """(table, name, command, roles, USING, WITH CHECK) of every policy but ops'."""
    adv, mgr, ana = g[ADVISOR], g[MANAGER], g[ANALYST]
    readers = f"{adv}, {mgr}"
    return [
        ("member", "rx_advisor", "SELECT", adv, f"advisor_code = {_ME}", None),
        ("member", "rx_manager", "SELECT", mgr, _IN_MY_BRANCHES, None),
        # read only: an upload brings the summary up to date by `_refresh_function`
        ("client_stage", "rx_advisor", "SELECT", adv, f"advisor_code = {_ME}", None),
        ("client_stage", "rx_manager", "SELECT", mgr, _IN_MY_BRANCHES, None),
        (
            "client",
            "rx_advisor",
            "SELECT",
            adv,
            "client_id IN (SELECT m.client_id FROM member m)",
            None,
        ),
        ("client", "rx_manager", "SELECT", mgr, f"branch IN {_MY_BRANCHES}", None),
        ("event", "rx_member", "SELECT", readers, _member_visible("event"), None),
        (
            "event",
            "rx_advisor_insert",
            "INSERT",
            adv,
            None,
            f"{_member_visible('event')} AND recorded_by = current_user"
            f" AND source IN ('upload', 'undo', 'correct')"
            f" AND (source <> 'upload' OR advisor_code = {_ME})"
            # a void cancels an event of the same member: never another advisor's evidence
            " AND (voids_event_id IS NULL"
            " OR reactivate_voids_own(voids_event_id, campaign_id, client_id))",
        ),
        ("import_record", "rx_advisor", "SELECT", adv, "run_by = current_user", None),
        # whether activity was loaded, and their advisors' uploads (the report's upload
        # quality): the workbook's advisor is kept with an upload's counts
        (
            "import_record",
            "rx_manager",
            "SELECT",
            mgr,
            "kind = 'activity' OR (kind = 'results'"
            f" AND CAST(counts AS jsonb) ->> 'advisor' IN {_MY_ADVISORS})",
            None,
        ),
        (
            "import_record",
            "rx_advisor_insert",
            "INSERT",
            adv,
            None,
            "run_by = current_user AND kind = 'results'",
        ),
        (
            "import_record",
            "rx_advisor_update",
            "UPDATE",
            adv,
            "run_by = current_user",
            "run_by = current_user",
        ),
        ("workbook_issue", "rx_advisor", "SELECT", adv, f"advisor_code = {_ME}", None),
        ("workbook_issue", "rx_manager", "SELECT", mgr, f"advisor_code IN {_MY_ADVISORS}", None),
        ("wecom_relation", "rx_advisor", "SELECT", adv, f"advisor_code = {_ME}", None),
        ("wecom_relation", "rx_manager", "SELECT", mgr, f"advisor_code IN {_MY_ADVISORS}", None),
        ("wecom_contact_way", "rx_advisor", "SELECT", adv, f"advisor_code = {_ME}", None),
        ("wecom_contact_way", "rx_manager", "SELECT", mgr, f"advisor_code IN {_MY_ADVISORS}", None),
        (
            "do_not_call",
            "rx_manager",
            "SELECT",
            mgr,
            "kind = 'client_id' AND value IN (SELECT c.client_id FROM client c)",
            None,
        ),
        ("do_not_call", "rx_analyst", "SELECT", ana, "kind = 'client_id'", None),
        (
            "do_not_call",
            "rx_advisor",
            "SELECT",
            adv,
            "value IN (SELECT c.client_id FROM client c UNION ALL SELECT c.mobile FROM client c)",
            None,
        ),
        ("access_user", "rx_self", "SELECT", "PUBLIC", "db_user = current_user", None),
        ("access_branch", "rx_self", "SELECT", "PUBLIC", "db_user = current_user", None),
        *(
            (table, "rx_analyst", "SELECT", ana, "true", None)
            for table in (
                "member",
                "client_stage",
                "client",
                "event",
                "import_record",
                "workbook_issue",
                "wecom_relation",
                "wecom_contact_way",
            )
        ),
    ]


def _grants(g: dict[str, str], schema: str) -> list[str]:
    ops, adv, mgr, ana = g[OPS], g[ADVISOR], g[MANAGER], g[ANALYST]
    everyone = f"{ops}, {adv}, {mgr}, {ana}"
    client_cols = ", ".join(_CLIENT_COLUMNS)
    relation_cols = ", ".join(_RELATION_COLUMNS)
    readable = (
        "member, event, client_stage, workbook_issue, wecom_contact_way, access_user, access_branch"
    )
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {everyone}",
        # a login without a role learns that it has none, not that the schema looks empty
        f"GRANT USAGE ON SCHEMA {schema} TO PUBLIC",
        "GRANT SELECT ON alembic_version, access_group, access_user, access_branch TO PUBLIC",
        f"GRANT SELECT ON {', '.join(_OPEN_TABLES)} TO {everyone}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {ops}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {ops}",
        # advisors: their clients whole, their uploads and undos, the summary of their clients
        f"GRANT SELECT ON {readable}, client, wecom_relation, import_record, do_not_call TO {adv}",
        f"GRANT INSERT ON event, import_record TO {adv}",
        f"GRANT UPDATE (status, counts) ON import_record TO {adv}",
        # The summary and the campaign-wide tallies are derived from the events: only ops
        # write them, and an advisor's upload through `_refresh_function`, which works
        # them out from the events. Managers' and advisors' reports count their own rows,
        # so they read no tallies (other advisors' counts). Revoked by name: an
        # existing deployment granted them before.
        f"REVOKE INSERT, UPDATE, DELETE ON client_stage FROM {adv}, {mgr}, {ana}",
        f"REVOKE ALL ON stage_tally, stage_days, stage_dates FROM {adv}, {mgr}",
        f"REVOKE INSERT, UPDATE, DELETE ON stage_tally, stage_days, stage_dates FROM {ana}",
        f"GRANT SELECT ON stage_tally, stage_days, stage_dates TO {ana}",
        # ops install the refresh function of a campaign they register (owned by their group)
        f"GRANT CREATE ON SCHEMA {schema} TO {ops}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {adv}",
        # managers and analysts: no personal columns
        f"GRANT SELECT ON {readable} TO {mgr}, {ana}",
        f"GRANT SELECT ON import_record TO {mgr}, {ana}",
        f"GRANT SELECT ({client_cols}) ON client TO {mgr}, {ana}",
        f"GRANT SELECT ({relation_cols}) ON wecom_relation TO {mgr}, {ana}",
        f"GRANT SELECT ON do_not_call TO {mgr}, {ana}",
    ]


def _masked_view(g: dict[str, str], analysts: str) -> list[str]:
    """Names and mobiles masked by the database for managers (their branches' clients)
    and analysts (all). The view reads `client` as its owner; its own WHERE decides the
    rows, by `current_user` (the caller: a view does not change it); security_barrier
    keeps a caller's conditions from seeing rows before that WHERE."""
    return [
        f"""CREATE OR REPLACE VIEW client_masked WITH (security_barrier) AS
SELECT c.client_id,
       {masked_name_sql("c.name", sqlite=False)} AS name,
       {masked_mobile_sql("c.mobile", sqlite=False)} AS mobile,
       {", ".join(f"c.{col}" for col in _CLIENT_COLUMNS[1:])}
FROM client c
WHERE pg_has_role(current_user, {analysts}, 'USAGE')
   OR c.branch IN (SELECT b.branch FROM access_branch b WHERE b.db_user = current_user)""",
        f"GRANT SELECT ON client_masked TO {g[MANAGER]}, {g[ANALYST]}",
    ]


def _functions(schema: str, g: dict[str, str]) -> list[str]:
    # SECURITY DEFINER: they run as their owner (who ran init), with a fixed search_path
    # so no caller can slip a table of their own in front of ours.
    settings = f"SECURITY DEFINER SET search_path = {schema}, pg_temp"
    return [
        f"""CREATE OR REPLACE FUNCTION reactivate_stamp_valid(message bytea, digest text)
RETURNS boolean LANGUAGE plpgsql STABLE {settings} AS $$
DECLARE
  k bytea;
  ipad bytea;
  opad bytea;
BEGIN
  SELECT decode(value, 'hex') INTO k FROM meta WHERE key = 'workbook_secret';
  IF k IS NULL THEN
    RETURN false;
  END IF;
  IF length(k) > 64 THEN
    k := sha256(k);
  END IF;
  k := k || decode(repeat('00', 64 - length(k)), 'hex');
  ipad := k;
  opad := k;
  FOR i IN 0..63 LOOP
    ipad := set_byte(ipad, i, get_byte(k, i) # 54);
    opad := set_byte(opad, i, get_byte(k, i) # 92);
  END LOOP;
  RETURN encode(sha256(opad || sha256(ipad || message)), 'hex') = lower(digest);
END
$$""",
        f"""CREATE OR REPLACE FUNCTION reactivate_advisors_of(campaign integer, ids text[])
RETURNS TABLE (client_id text, advisor_code text) LANGUAGE sql STABLE {settings} AS $$
  SELECT m.client_id, m.advisor_code FROM member m
  WHERE m.campaign_id = campaign AND m.client_id = ANY(ids)
$$""",
        f"""CREATE OR REPLACE FUNCTION reactivate_import_run_by(import integer)
RETURNS text LANGUAGE sql STABLE {settings} AS $$
  SELECT i.run_by FROM import_record i WHERE i.id = import
$$""",
        # (a policy on event cannot read event itself: PostgreSQL calls that recursion)
        f"""CREATE OR REPLACE FUNCTION reactivate_voids_own(voided integer, campaign integer,
                                                   client text)
RETURNS boolean LANGUAGE sql STABLE {settings} AS $$
  SELECT EXISTS (SELECT 1 FROM event v JOIN member m
                   ON m.campaign_id = v.campaign_id AND m.client_id = v.client_id
                 WHERE v.id = voided AND v.campaign_id = campaign AND v.client_id = client
                   AND m.advisor_code = {_me("session_user")})
$$""",
        "REVOKE ALL ON FUNCTION reactivate_voids_own(integer, integer, text) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION reactivate_voids_own(integer, integer, text) TO {g[ADVISOR]}",
        "REVOKE ALL ON FUNCTION reactivate_import_run_by(integer) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION reactivate_import_run_by(integer) TO {g[ADVISOR]}",
        "REVOKE ALL ON FUNCTION reactivate_stamp_valid(bytea, text) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION reactivate_advisors_of(integer, text[]) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION reactivate_stamp_valid(bytea, text) TO {g[OPS]}, {g[ADVISOR]}",
        f"GRANT EXECUTE ON FUNCTION reactivate_advisors_of(integer, text[]) TO {g[OPS]}, {g[ADVISOR]}",
    ]


# --- the summary an advisor's upload brings up to date -------------------------------

_REFRESH = "reactivate_refresh"
# what the statements `stages.few_clients_sql` bind, as the function's body says it
_BOUND = re.compile(r"(?<![:\w]):(campaign_id|cid|no_time)\b")


def _refresh_function(campaign_id: int, registered: Campaign) -> tuple[str, str]:
    """(name, body) of the function that brings the summary rows and the tallies of the
    given clients of campaign `campaign_id` up to date from their events: made of the
    statements `stages.refresh` runs for a few clients (one definition), with the
    campaign's own stage list. Its name ends in a digest of its body, so a function made
    under another definition (of the campaign, or of this release's summary) is never
    called: `install_refresh` makes the current one."""
    touched = stages.TOUCHED
    statements = stages.few_clients_sql(registered, unvoided=True)
    values = {
        "campaign_id": str(campaign_id),
        "cid": str(campaign_id),
        "no_time": "CAST('9999-12-31 00:00:00+00' AS timestamptz)",
    }
    bound = ";\n  ".join(
        _BOUND.sub(lambda m: values[m.group(1)], statement) for statement in statements
    )
    # the caller is the login (session_user): inside the function current_user is its
    # owner. A login can always set its role back to itself, so this is who the policies
    # know; advisors are held to the members their policy lets them read.
    body = f"""DECLARE
  caller_code text;
BEGIN
  IF NOT pg_has_role(session_user,
                     (SELECT relowner FROM pg_class WHERE oid = 'access_user'::regclass), 'MEMBER')
     AND NOT EXISTS (SELECT 1 FROM access_user u WHERE u.db_user = session_user AND u.role = '{OPS}')
  THEN
    SELECT u.advisor_code INTO caller_code FROM access_user u
      WHERE u.db_user = session_user AND u.role = '{ADVISOR}';
    IF caller_code IS NULL OR EXISTS (
      SELECT 1 FROM unnest(refresh_ids) AS t(client_id) WHERE NOT EXISTS (
        SELECT 1 FROM member m WHERE m.campaign_id = {campaign_id} AND m.client_id = t.client_id
          AND m.advisor_code = {_me("session_user")}))
    THEN
      RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = session_user
        || ' may bring up to date only the summary of their own clients';
    END IF;
  END IF;
  DROP TABLE IF EXISTS {touched};
  CREATE TEMPORARY TABLE {touched} (client_id TEXT PRIMARY KEY);
  INSERT INTO {touched} SELECT DISTINCT unnest(refresh_ids);
  {bound};
  DROP TABLE {touched};
END"""
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    return f"{_REFRESH}_{campaign_id}_{digest}", body


def install_refresh(conn: Connection, campaign_id: int) -> str:
    """Make campaign `campaign_id`'s refresh function (`_refresh_function`) unless it is
    there, dropping those made under an earlier definition; owned by the ops group, so it
    acts with ops' rights whoever made it (the schema's owner or an ops login), and
    callable by ops and advisors. Returns its name."""
    groups = {role: _quote(conn, name) for role, name in _groups(conn).items()}
    registered = stages.registered_campaign(conn, campaign_id)
    name, body = _refresh_function(campaign_id, registered)
    made = {
        str(found)
        for found in conn.execute(
            text(
                "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace"
                " AND p.proname LIKE :like"
            ),
            {"like": f"{_REFRESH}\\_{campaign_id}\\_%"},
        ).scalars()
    }
    for stale in made - {name}:
        conn.exec_driver_sql(f"DROP FUNCTION {stale}(text[])")
    schema = conn.dialect.identifier_preparer.quote_identifier(
        str(conn.execute(text("SELECT current_schema()")).scalar_one())
    )
    signature = f"{name}(text[])"
    if name not in made:
        conn.exec_driver_sql(
            f"CREATE FUNCTION {name}(refresh_ids text[]) RETURNS void LANGUAGE plpgsql"
            f" SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$\n{body}\n$fn$"
        )
        conn.exec_driver_sql(f"ALTER FUNCTION {signature} OWNER TO {groups[OPS]}")
    conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    conn.exec_driver_sql(
        f"GRANT EXECUTE ON FUNCTION {signature} TO {groups[OPS]}, {groups[ADVISOR]}"
    )
    return name


def refresh_own(
    conn: Connection, campaign_id: int, client_ids: Callable[[], Iterable[str]]
) -> bool:
    """For an advisor (or any login but ops where roles are in force): bring the summary
    and the tallies of the clients `client_ids()` names up to date by the campaign's
    refresh function, the only way they may write them; True when done so. False for
    ops and where roles are not in force: the caller refreshes as usual (`stages`)."""
    name = _own_refresh(conn, caller(conn), campaign_id)
    if name is None:
        return False
    conn.execute(text(f"SELECT {name}(:ids)"), {"ids": sorted(set(client_ids()))})
    return True


def check_refresh(conn: Connection, who_calls: Caller | None, campaign_id: int) -> None:
    """Before an advisor's upload: refuse now, not after every row is read, when the
    campaign's refresh function is missing or of another definition (`refresh_own`)."""
    _own_refresh(conn, who_calls, campaign_id)


def _own_refresh(conn: Connection, who_calls: Caller | None, campaign_id: int) -> str | None:
    """The name of the refresh function `who_calls` must use (None: ops, or no roles);
    `ConfigError` when the database has not got the current one."""
    if who_calls is None or who_calls.ops:
        return None
    name, _body = _refresh_function(campaign_id, stages.registered_campaign(conn, campaign_id))
    made = conn.execute(
        text(
            "SELECT 1 FROM pg_proc WHERE proname = :name"
            " AND pronamespace = current_schema()::regnamespace"
        ),
        {"name": name},
    ).first()
    if made is None:
        raise ConfigError(t("access.refresh_missing"))
    return name


def init(engine: Engine, prefix: str = DEFAULT_PREFIX) -> InitSummary:
    """Make the group roles (`<prefix>_ops`, ...), grant them what each role may do and
    put the row-level security policies in place (`upgrade` does it again). Needs the
    schema's owner with the right to create roles (the DBA)."""
    with engine.begin() as conn:
        _postgres(conn)
        return _apply(conn, prefix)


def upgrade(engine: Engine) -> Upgraded:
    """`reactivate db upgrade`: the schema brought to this release's and, where roles are
    in force, their grants, policies and each campaign's summary refresh applied again
    in the same transaction, so that a new table or a new definition of the refresh
    (its name's digest) is never out of the roles' reach. The group roles exist by then:
    no right to create roles is needed."""
    from reactivate.db import migrate

    return migrate.upgrade(engine, roles=lambda conn: _apply(conn, DEFAULT_PREFIX))


def _apply(conn: Connection, prefix: str) -> InitSummary:
    """`init`'s work inside the caller's transaction."""
    schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
    found = {
        row.role: row.db_role
        for row in conn.execute(text("SELECT role, db_role FROM access_group"))
    }
    groups = {role: found.get(role, f"{prefix}_{role}") for role in ROLES}
    quoted = {role: _quote(conn, name) for role, name in groups.items()}
    created = []
    for role, name in groups.items():
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}
        ).first()
        if exists is None:
            conn.exec_driver_sql(f"CREATE ROLE {quoted[role]} NOLOGIN")
            created.append(name)
        if role not in found:
            conn.execute(
                text("INSERT INTO access_group (role, db_role) VALUES (:r, :n)"),
                {"r": role, "n": name},
            )
    schema_q = conn.dialect.identifier_preparer.quote_identifier(schema)
    analysts = f"'{groups[ANALYST]}'"  # a checked role name: no quote inside
    for statement in (
        *_grants(quoted, schema_q),
        *_functions(schema_q, quoted),
        *_masked_view(quoted, analysts),
    ):
        conn.exec_driver_sql(statement)
    policies = 0
    for table in _GUARDED_TABLES:
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS rx_ops ON {table}")
        conn.exec_driver_sql(
            f"CREATE POLICY rx_ops ON {table} TO {quoted[OPS]} USING (true) WITH CHECK (true)"
        )
        policies += 1
    for table, name, command, roles, using, check in _policies(quoted):
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {name} ON {table}")
        statement = f"CREATE POLICY {name} ON {table} FOR {command} TO {roles}"
        if using is not None:
            statement += f" USING ({using})"
        if check is not None:
            statement += f" WITH CHECK ({check})"
        conn.exec_driver_sql(statement)
        policies += 1
    for campaign_id in conn.execute(text("SELECT id FROM campaign ORDER BY id")).scalars():
        install_refresh(conn, int(campaign_id))
    return InitSummary(schema=schema, groups=groups, created=created, policies=policies)


@dataclasses.dataclass
class Grant:
    """One login's role, as `access grant` set it or `access list` shows it."""

    user: str
    role: str
    advisor: str | None
    branches: list[str]
    granted_by: str
    granted_at: str
    created: bool = False  # `grant` made the login role (without a password)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _branch_names(conn: Connection, given: Sequence[str]) -> list[str]:
    """The roster's branch names for codes or names as given."""
    names = []
    for value in given:
        found = conn.execute(
            text("SELECT name FROM branch WHERE code = :v OR name = :v"), {"v": value}
        ).scalar()
        if found is None:
            known = ", ".join(
                f"{row.code or '-'} {row.name}"
                for row in conn.execute(text("SELECT code, name FROM branch ORDER BY name"))
            )
            raise ConfigError(t("access.branch_unknown", branch=value, known=known or "none"))
        names.append(str(found))
    return sorted(set(names))


def grant(
    engine: Engine,
    user: str,
    role: str,
    *,
    branches: Sequence[str] = (),
    advisor: str | None = None,
) -> Grant:
    """Give login `user` the role (replacing any it had); creates the login, without a
    password, when it does not exist yet. Ops only."""
    if role not in ROLES:
        raise ConfigError(t("access.bad_role", role=role, roles=", ".join(ROLES)))
    if role == MANAGER and not branches:
        raise ConfigError(t("access.manager_needs_branch"))
    if role == ADVISOR and not advisor:
        raise ConfigError(t("access.advisor_needs_code"))
    if role not in (MANAGER,) and branches:
        raise ConfigError(t("access.branch_only_manager"))
    if role != ADVISOR and advisor:
        raise ConfigError(t("access.advisor_only_advisor"))
    with engine.begin() as conn:
        _postgres(conn)
        groups = _groups(conn)
        require(conn, "access.action.grant")
        login = _quote(conn, user)
        if advisor is not None:
            known = conn.execute(
                text("SELECT 1 FROM advisor WHERE code = :c"), {"c": advisor}
            ).first()
            if known is None:
                raise ConfigError(t("error.advisor_unknown", code=advisor))
        names = _branch_names(conn, branches)
        created = (
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": user}).first()
            is None
        )
        if created:
            conn.exec_driver_sql(f"CREATE ROLE {login} LOGIN")
        _leave_groups(conn, user, groups)
        conn.exec_driver_sql(f"GRANT {_quote(conn, groups[role])} TO {login}")
        if role == OPS:
            _may_grant(conn, login, groups)
        conn.execute(text("DELETE FROM access_branch WHERE db_user = :u"), {"u": user})
        conn.execute(text("DELETE FROM access_user WHERE db_user = :u"), {"u": user})
        now = utcnow()
        by = who(conn)
        conn.execute(
            text(
                "INSERT INTO access_user (db_user, role, advisor_code, granted_by, granted_at)"
                " VALUES (:u, :r, :a, :by, :at)"
            ),
            {"u": user, "r": role, "a": advisor, "by": by, "at": now},
        )
        for name in names:
            conn.execute(
                text("INSERT INTO access_branch (db_user, branch) VALUES (:u, :b)"),
                {"u": user, "b": name},
            )
    return Grant(user, role, advisor, names, by, _shown(now), created=created)


def _may_grant(conn: Connection, login: str, groups: dict[str, str]) -> None:
    """Let an ops login make logins and hand out the groups in turn. It must not be a
    member of the other groups in any way that counts: their policies would apply to it
    too (and a manager's and an advisor's together refer to each other's tables)."""
    conn.exec_driver_sql(f"ALTER ROLE {login} CREATEROLE")
    version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    if version >= 160000:  # since 16 CREATEROLE alone no longer lets one grant a role
        for role, name in groups.items():
            if role != OPS:
                conn.exec_driver_sql(
                    f"GRANT {_quote(conn, name)} TO {login} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"
                )


def _leave_groups(conn: Connection, user: str, groups: dict[str, str]) -> None:
    login = _quote(conn, user)
    member_of = {
        str(name)
        for name in conn.execute(
            text(
                "SELECT g.rolname FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid"
                " JOIN pg_roles u ON u.oid = am.member WHERE u.rolname = :u"
            ),
            {"u": user},
        ).scalars()
    }
    for name in groups.values():
        if name in member_of:
            conn.exec_driver_sql(f"REVOKE {_quote(conn, name)} FROM {login}")


def revoke(engine: Engine, user: str) -> Grant:
    """Take the role from login `user` (the login itself stays, the DBA's to drop). Ops only."""
    with engine.begin() as conn:
        _postgres(conn)
        groups = _groups(conn)
        require(conn, "access.action.grant")
        login = _quote(conn, user)
        found = _listing(conn, user)
        if not found:
            raise ConfigError(t("access.no_grant", user=user))
        _leave_groups(conn, user, groups)
        if found[0].role == OPS:
            conn.exec_driver_sql(f"ALTER ROLE {login} NOCREATEROLE")
        conn.execute(text("DELETE FROM access_branch WHERE db_user = :u"), {"u": user})
        conn.execute(text("DELETE FROM access_user WHERE db_user = :u"), {"u": user})
    return found[0]


def listing(engine: Engine) -> list[Grant]:
    """Every login with a role. Ops only."""
    with engine.connect() as conn:
        _postgres(conn)
        _groups(conn)
        require(conn, "access.action.list")
        return _listing(conn)


def _listing(conn: Connection, user: str | None = None) -> list[Grant]:
    where = "WHERE u.db_user = :u" if user is not None else ""
    rows = conn.execute(
        text(
            "SELECT u.db_user, u.role, u.advisor_code, u.granted_by, u.granted_at,"
            " (SELECT string_agg(b.branch, ',' ORDER BY b.branch) FROM access_branch b"
            "  WHERE b.db_user = u.db_user) AS branches"
            f" FROM access_user u {where} ORDER BY u.role, u.db_user"
        ),
        {"u": user},
    )
    return [
        Grant(
            row.db_user,
            row.role,
            row.advisor_code,
            row.branches.split(",") if row.branches else [],
            row.granted_by,
            _shown(row.granted_at),
        )
        for row in rows
    ]


def _shown(when: Any) -> str:
    from reactivate.clock import DEFAULT_TZ, local

    return local(when, DEFAULT_TZ).isoformat(timespec="seconds")
