"""A date window reads its returning clients from the span index alone.

Revision 0013 (PostgreSQL): revision 0010's SP-GiST index of `client_stage` by each
client's evidence span (`stages.spans`) is made again holding, beside the span, every
column a window's statement reads of the clients it finds
(`report.source.CANDIDATE_COLUMNS`), so that they are read by an index-only scan rather
than from their summary pages, scattered over the whole table (a week at 10M: 238,000
clients on 143,000 pages). Only for the clients called at most 100 times (an index row
must fit in a page); the others, few, are found by their number of calls. A page written
since the table's last vacuum is still read for its rows (the visibility map).
SQLite gets nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: The span index's expression, as `stages.spans` writes it (frozen here, as revision
#: 0010 made it).
_FIRSTS = "called_at, wecom_at, pushed_at, converted_at"
_LASTS = "last_call_at, last_wecom_at, last_pushed_at, last_converted_at"
SPAN = (
    f"(CASE WHEN COALESCE({_FIRSTS}) IS NOT NULL"
    f" THEN tstzrange(LEAST({_FIRSTS}), GREATEST({_FIRSTS}, {_LASTS}), '[]') END)"
)
#: What a window reads of each client it finds by the span
#: (`report.source.CANDIDATE_COLUMNS`, frozen here).
HELD = (
    "campaign_id, client_id, advisor_code, assigned_at, control, dnc, called_at, reached_at,"
    " wecom_at, wecom_confirmed_at, pushed_at, converted_at, last_call_at, last_wecom_at,"
    " last_pushed_at, last_converted_at, later_calls, later_reached, reactivated_at,"
    " do_not_call, callback_at, called_days, reached_days, wecom_days, pushed_days,"
    " converted_days, branch, risk, asset_band, cohort"
)
#: The most distinct call times of a client whose row the index holds (as
#: `stages.SPAN_HELD_CALLS`, frozen here).
HELD_CALLS = 100


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_client_stage_span")
    # an index row must fit in a page: the later call times of a client called at about
    # 190 times or more would not (`stages.SPAN_HELD_CALLS`); the few called more often
    # are found by their number of calls (revision 0011's `ix_client_stage_attempt`)
    op.execute(
        "CREATE INDEX ix_client_stage_span ON client_stage USING spgist"
        f" ({SPAN}) INCLUDE ({HELD}) WHERE {SPAN} IS NOT NULL AND calls <= {HELD_CALLS}"
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
