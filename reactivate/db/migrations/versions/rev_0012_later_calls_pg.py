"""A date window takes the calls inside it of a client called before it from its summary row.

Revision 0012 (PostgreSQL): `client_stage.later_calls` and `later_reached`
(`stages.LATER_CALLS`), each client's call times after its first and of those the
answered ones, as `tstzmultirange`s of single instants (NULL for a client called at one
time only), filled from each client's unvoided calls as a rebuild writes them. A window's
first call and first answered call inside it, for a client called before it and since its
start, is then the lower bound of those times cut to the window
(`report.source._windowed`), where a week at 10M probed the call index for 125,000 such
clients; so revision 0010's index of the calls (`ix_event_call_times`), which only those
probes read and every upload of calls writes, goes. SQLite keeps reading its returning
clients' events by revision 0005's ranges and gets neither column.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The answered dispositions, as `stages.REACHED_VALUES` lists them (frozen here).
_REACHED = "'callback', 'connected', 'do_not_call', 'refused'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # revision 0002's rebuild, run on a database brought up from before it, writes the
    # summary as this release keeps it, so it added them already
    for name in ("later_calls", "later_reached"):
        op.execute(f"ALTER TABLE client_stage ADD COLUMN IF NOT EXISTS {name} tstzmultirange")
    instant = "tstzrange(occurred_at, occurred_at, '[]')"
    # each client's calls numbered by distinct time, as the summary's calls are counted,
    # then grouped; only the clients called at two times or more are written
    op.execute(
        "UPDATE client_stage SET later_calls = l.later_calls, later_reached = l.later_reached"
        f" FROM (SELECT campaign_id, client_id, range_agg({instant}) AS later_calls,"
        f" range_agg({instant}) FILTER (WHERE value IN ({_REACHED})) AS later_reached"
        " FROM (SELECT e.campaign_id, e.client_id, e.occurred_at, e.value, dense_rank() OVER"
        " (PARTITION BY e.campaign_id, e.client_id ORDER BY e.occurred_at) AS nth FROM event e"
        " WHERE e.stage = 'call' AND NOT EXISTS (SELECT 1 FROM event v"
        " WHERE v.voids_event_id = e.id AND v.voids_event_id IS NOT NULL)) t"
        " WHERE nth > 1 GROUP BY campaign_id, client_id) l"
        " WHERE client_stage.campaign_id = l.campaign_id AND client_stage.client_id = l.client_id"
    )
    op.execute("DROP INDEX IF EXISTS ix_event_call_times")


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
