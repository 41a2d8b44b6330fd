"""A date window finds its returning clients by their evidence span, and their calls by index.

Revision 0010 (PostgreSQL):
- an SP-GiST index of `client_stage` by each client's evidence span, from its earliest
  first call, WeCom add, push or conversion to the latest of those and of its last ones
  (NULL without evidence). A window's clients first seen before it who
  have evidence inside it all have a span holding the window's start, a stabbing query
  the index answers by itself (`report.source._returning_inside`): a week at 10M read
  every summary row by one parallel scan, and again for each kind's returning candidates;
- an index of the calls by client and time, holding their id and disposition
  (`ix_event_call_times`), from which a window read the calls inside it of the clients
  called before it and again since its start without reading an event row: a week at
  10M probed 125,000 clients' calls (revision 0012 reads them from the summary instead
  and drops it).
SQLite keeps its ranges of revision 0005's indexes and gets neither.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: The span index's expression (frozen here; revision 0015 indexes the span as a point).
_FIRSTS = "called_at, wecom_at, pushed_at, converted_at"
_LASTS = "last_call_at, last_wecom_at, last_pushed_at, last_converted_at"
SPAN = (
    f"(CASE WHEN COALESCE({_FIRSTS}) IS NOT NULL"
    f" THEN tstzrange(LEAST({_FIRSTS}), GREATEST({_FIRSTS}, {_LASTS}), '[]') END)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # only the clients with evidence: a load's new members have none (the planner knows
    # a span that holds a time is not NULL); built over every row, a 10M load's 8.2M new
    # summary rows cost it 22.5 s more wall
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_client_stage_span ON client_stage"
        f" USING spgist ({SPAN}) WHERE {SPAN} IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_event_call_times ON event"
        " (campaign_id, client_id, occurred_at) INCLUDE (id, value) WHERE stage = 'call'"
    )
    # the span's statistics, which tell the planner how few spans hold a day
    op.execute("ANALYZE client_stage")


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
