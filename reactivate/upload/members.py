"""What the database says about the clients and advisors an upload names.

The context every row is checked against (`load_context`: the campaign, the advisors),
and each named client's member columns (`load_members`: known, member, advisor,
assignment, control group, do-not-call, risk), read in one pass as a polars frame to
join to the upload's rows; and the members that unknown ids are short of their leading
zeros (`lost_zeros`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from reactivate import registry
from reactivate.clock import from_db
from reactivate.db import bulk, dialect
from reactivate.db.dialect import streamed_rows
from reactivate.rules import funnel
from reactivate.sheets import values
from reactivate.upload import columns as rc
from reactivate.upload.model import Context

if TYPE_CHECKING:
    import polars as pl

# The first do-not-call result's time is looked for in the events only for a client
# whose summary row says there is one (`client_stage.do_not_call`, kept with the events
# in the same transaction, by the same definition) or who has no summary row: the calls
# of each client looked up one by one cost an advisor's sheet of 2,030 clients over 1M
# a page read or two each (0.03 s of the lookup's 0.08 s).
_CONTEXT_COLUMNS = """
       c.client_id IS NOT NULL AS known,
       m.client_id IS NOT NULL AS member,
       m.advisor_code, m.assigned_at, m.control, m.dnc, c.risk,
       EXISTS (SELECT 1 FROM do_not_call d
               WHERE (d.kind = 'client_id' AND d.value = {client})
                  OR (d.kind = 'mobile' AND d.value = c.mobile)) AS listed,
       CASE WHEN cs.client_id IS NULL OR cs.do_not_call THEN
       (SELECT MIN(e.occurred_at) FROM event e
         WHERE e.campaign_id = :campaign_id AND e.client_id = {client}
           AND e.stage = :call AND e.value = :dnc
           AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)) END AS dnc_call_at,
       cs.attempts AS attempts_so_far
"""
_SUMMARY_JOIN = (
    "LEFT JOIN client_stage cs ON cs.campaign_id = :campaign_id AND cs.client_id = {client}"
)
# the clients staged in upload_client, members or not
_CONTEXT_SQL = f"""
SELECT s.client_id, {_CONTEXT_COLUMNS.format(client="s.client_id")}
FROM upload_client s
LEFT JOIN client c ON c.client_id = s.client_id
LEFT JOIN member m ON m.campaign_id = :campaign_id AND m.client_id = s.client_id
{_SUMMARY_JOIN.format(client="s.client_id")}
"""
# every member of the campaign
_MEMBERS_SQL = f"""
SELECT m.client_id, {_CONTEXT_COLUMNS.format(client="m.client_id")}
FROM member m
LEFT JOIN client c ON c.client_id = m.client_id
{_SUMMARY_JOIN.format(client="m.client_id")}
WHERE m.campaign_id = :campaign_id
"""


#: Rows read from the driver at a time: a million rows as tuples would take more memory
#: than the frame they become.
_FETCHED = 50_000


def load_context(conn: Connection, registered: registry.Registered, now: dt.datetime) -> Context:
    codes: set[str] = set()
    names: dict[str, list[str]] = {}
    for code, name in conn.execute(text("SELECT code, name FROM advisor")):
        codes.add(code)
        names.setdefault(name, []).append(code)
    return Context(
        campaign=registered.config,
        campaign_id=registered.id,
        now=now,
        advisor_codes=frozenset(codes),
        advisor_by_name={n: found[0] for n, found in names.items() if len(found) == 1},
    )


def members_at_most(conn: Connection, campaign_id: int, limit: int) -> bool:
    """Whether the campaign has at most `limit` members: whether an upload naming `limit`
    / 2 clients names most of them. Reads at most `limit` + 1 rows, so a small upload
    does not count a big campaign's members (40 ms at 1M on SQLite)."""
    found = conn.execute(
        text("SELECT COUNT(*) FROM (SELECT 1 FROM member WHERE campaign_id = :cid LIMIT :over) m"),
        {"cid": campaign_id, "over": limit + 1},
    ).scalar_one()
    return int(found) <= limit


def load_members(
    conn: Connection,
    campaign_id: int,
    client_ids: Collection[str],
    *,
    every_member: bool = False,
) -> pl.DataFrame:
    """What the database says about each of `client_ids` (`columns.MEMBER_COLUMNS`).

    Looked up in one pass in client order: a few clients scattered over a large table
    cost a page read each, while the clients of many files at once share their pages.
    With `every_member` (for clients that are most of the campaign), every member is
    read instead, with no list of clients to stage; then the others among `client_ids`.
    """
    import polars as pl

    params = {"campaign_id": campaign_id, "call": funnel.EVENT_CALL, "dnc": funnel.DO_NOT_CALL}
    # as the driver gives them: SQLite's flags are 0/1 and its times UTC text
    types = rc.member_types()
    sqlite = conn.dialect.name == "sqlite"
    raw = dict(types, listed=pl.Boolean)
    if sqlite:
        raw |= {name: pl.Int64 for name, dtype in raw.items() if dtype == pl.Boolean}
        raw["assigned_at"] = raw["dnc_call_at"] = pl.String
    order = ["client_id", "known", "member", "member_advisor", "assigned_at", "control", "dnc"]
    order += ["risk", "listed", "dnc_call_at", "attempts_so_far"]
    schema = {name: raw[name] for name in order}
    found = [pl.DataFrame(schema=schema)]
    if every_member:
        found += (
            pl.DataFrame(batch, schema=schema, orient="row")
            for batch in streamed_rows(conn, _MEMBERS_SQL, _FETCHED, params)
        )
        if client_ids:
            read = pl.concat([part["client_id"] for part in found], rechunk=False)
            wanted = pl.Series("client_id", list(client_ids), pl.String)
            client_ids = wanted.filter(~wanted.is_in(read.implode())).to_list()
    if client_ids:
        # Staged in order, and scanned in that order: no key to maintain.
        bulk.stage(conn, "upload_client", {"client_id": "TEXT"}, ((c,) for c in sorted(client_ids)))
        found += (
            pl.DataFrame(batch, schema=schema, orient="row")
            for batch in streamed_rows(conn, _CONTEXT_SQL, _FETCHED, params)
        )
        conn.exec_driver_sql("DROP TABLE upload_client")
    frame = pl.concat(found, rechunk=False)  # not copied again: at 10M members, 0.5 GB
    del found
    frame = frame.with_columns(
        (pl.col("dnc").cast(pl.Boolean) | pl.col("listed").cast(pl.Boolean)).alias("dnc"),
        *(pl.col(name).cast(pl.Boolean) for name in ("known", "member", "control")),
    )
    if sqlite:
        frame = frame.with_columns(
            _times_from_db(frame[name], types[name]) for name in ("assigned_at", "dnc_call_at")
        )
    return frame.select(rc.MEMBER_COLUMNS)


class Lookup:
    """The member columns of the clients an upload names, a batch of files at a time.

    When the upload names most of the campaign (every advisor's sheet at once), every
    member is read once, at the first batch, and kept until the last (about 60 bytes a
    member); each batch takes its clients from that frame: looked up batch by batch, each
    batch's join would read all of the campaign's member, client and summary rows again
    (for 10M rows in batches of 250,000, 40 passes over 10M rows of each). A client the
    frame does not hold (not a member) is looked up on its own, as for a small upload.
    """

    def __init__(self, campaign_id: int, files: int) -> None:
        self.campaign_id = campaign_id
        self.files = files  # how many files the upload reads
        self.every: pl.DataFrame | None = None
        self.first = True

    def batch(self, conn: Connection, issued: Collection[str], files: int) -> pl.DataFrame:
        """The member columns of `issued`, the clients a batch's `files` workbooks were
        issued for; at the first batch, every member is read if, at its pace, the whole
        upload names most of them."""
        if self.first:
            self.first = False
            named = len(issued) * self.files // max(files, 1)
            if members_at_most(conn, self.campaign_id, 2 * named):
                self.every = load_members(conn, self.campaign_id, (), every_member=True)
            else:
                # the few clients' rows, and later their events and summary rows, lie
                # scattered over the file: a page fault each, not a read() call (mapped
                # for an upload naming most members, its pages would all stay resident)
                dialect.map_sqlite_file(conn)
        return self(conn, issued)

    def __call__(self, conn: Connection, client_ids: Collection[str]) -> pl.DataFrame:
        """The member columns of `client_ids` (in no particular order)."""
        import polars as pl

        if self.every is None:
            return load_members(conn, self.campaign_id, client_ids)
        wanted = pl.Series("client_id", list(client_ids), pl.String)
        # (not taken out of the frame as it is served: each batch would copy what is left)
        found = self.every.filter(pl.col("client_id").is_in(wanted.implode()))
        rest = wanted.filter(~wanted.is_in(found["client_id"].implode()))
        if rest.is_empty():
            return found
        return pl.concat([found, load_members(conn, self.campaign_id, rest.to_list())])


def _times_from_db(raw: pl.Series, dtype: Any) -> pl.Series:
    """SQLite's UTC text as aware times, each distinct one read once by `clock.from_db`."""
    distinct = raw.drop_nulls().unique().to_list()
    converted = [from_db(value) for value in distinct]
    return raw.replace_strict(distinct, converted, default=None, return_dtype=dtype)


def lost_zeros(conn: Connection, campaign_id: int, unknown: Collection[str]) -> dict[str, str]:
    """Each of the `unknown` ids that, all digits and padded with zeros to the width of
    the campaign's member ids, is a member -> that member (the narrowest, where widths
    differ). Excel saves 0021792650 as the number 21792650.

    A few unknown ids are looked up padded to every longer width
    (`values.longer_widths`); many, to the widths of the members' ids, read first (one
    read of every member's id). The database pads them (`dialect.zero_padded`).
    """
    digits = sorted({c for c in unknown if c.isascii() and c.isdigit()})  # those padded
    if not digits:
        return {}
    shortest = min(map(len, digits))
    widths: Iterable[int] | None = values.longer_widths(
        shortest, sum(values.MAX_ID_LENGTH - len(c) for c in digits)
    )
    if widths is None:
        read = conn.execute(
            text("SELECT DISTINCT length(client_id) FROM member WHERE campaign_id = :cid"),
            {"cid": campaign_id},
        ).scalars()
        widths = [width for width in read if width > shortest]
    listed = ", ".join(f"({int(width)})" for width in widths)
    if not listed:
        return {}
    bulk.stage(conn, "padded_client", {"client_id": "TEXT"}, ((c,) for c in digits))
    padded = dialect.zero_padded(conn, "s.client_id", "w.width", values.MAX_ID_LENGTH)
    found = conn.execute(
        text(
            f"WITH w (width) AS (VALUES {listed})"
            f" SELECT s.client_id, {padded} FROM padded_client s"
            " JOIN w ON w.width > length(s.client_id)"
            f" JOIN member m ON m.campaign_id = :cid AND m.client_id = {padded}"
            " ORDER BY w.width"
        ),
        {"cid": campaign_id},
    ).all()
    conn.exec_driver_sql("DROP TABLE padded_client")
    members: dict[str, str] = {}
    for client_id, member in found:
        members.setdefault(client_id, member)
    return members
