"""A short `--dropped` list reads its clients from an index of their own.

Revision 0015 (PostgreSQL): an index of `client_stage` by stage reached, advisor and
client, holding each row's last call and callback (`models.LISTED_INDEX`), over the
assigned members outside the control group, the rows a list may name. A list of a few
hundred thousand clients then reads only their entries, not every row of the campaign
(at 10M members the summary's 244,000 pages for 377,000 clients), sorts them by client
id and looks their clients up in that order (`report.dropped`). A long list still scans
the summary: read through the index, its lookups and the heap fetches of the pages an
upload left not all-visible cost more than the scan (benchmarks/README.md). Keyed by
advisor before client, an advisor's upload rewrites a few runs of neighbouring entries,
as it does in the advisor index, not one entry per page. SQLite reads its summary in
rowid ranges for a list and gets none.

Revision 0013 was this index once, tried and not released (0014 follows 0012).
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
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
