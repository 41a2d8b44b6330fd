"""A `--dropped` list reads its clients from an index of their own.

Revision 0013 (PostgreSQL): an index of `client_stage` by stage reached, advisor and
client, holding each row's last call and callback (`models.LISTED_INDEX`), over the
assigned members outside the control group, the rows a list may name. A list of the
clients who stopped at a stage then reads only their entries, in the list's own order,
and no summary row, where it read every row of the campaign: at 10M members the 244,000
pages of the summary for a list of 377,000 clients (benchmarks/README.md). Keyed by
advisor before client, an advisor's upload rewrites a few runs of neighbouring entries,
as it does in the advisor index, not one entry per page. SQLite reads its summary in
rowid ranges for a list and gets none.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # its columns and rows frozen here
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_client_stage_listed ON client_stage"
        " (campaign_id, stages_reached, advisor_code, client_id)"
        " INCLUDE (last_call_at, callback_at) WHERE advisor_code IS NOT NULL AND NOT control"
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
