"""A report's never-called count reads its few do-not-call clients by an index on PostgreSQL too.

Revision 0007 (PostgreSQL): revision 0005's index of `client_stage` by do-not-call
membership and answer, which SQLite has had since then, so that the never-called count
reads the few members on both do-not-call lists (`report.funnels._callable`) instead of
scanning every summary row (0.38 s at 1M; what was left of a month's window at 10M once
it reads no client one by one). A full index: a partial index's condition would make
every SQLite command import PostgreSQL's dialect (`models.WINDOW_INDEXES`). The other
window indexes stay SQLite's: PostgreSQL's week read the summary faster by one parallel
scan than by their ranges.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # revision 0005 made it (there: only the rows that have the value)
    op.create_index(
        "ix_client_stage_dnc",
        "client_stage",
        ["campaign_id", "dnc", "do_not_call"],
        if_not_exists=True,
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
