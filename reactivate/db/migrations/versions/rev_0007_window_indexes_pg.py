"""A date window reads only the clients first seen before it by index ranges on PostgreSQL too.

Revision 0007 (PostgreSQL): revision 0005's indexes of `client_stage` (by campaign and
first call with the last call, first WeCom add, first push, first conversion, and by
do-not-call membership and answer), which SQLite has had since then, so that a window
finds the clients first seen before it who have evidence inside it by index ranges
(`report.source._returning_inside`) instead of scanning every summary row, and its
never-called count the few members on both do-not-call lists likewise. Full indexes:
a partial index's condition would make every SQLite command import PostgreSQL's dialect
(`models.WINDOW_INDEXES`).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Each index's columns, as revision 0005 made them on SQLite (there: only the rows that
#: have the value).
INDEXES = {
    "ix_client_stage_called": ["campaign_id", "called_at", "last_call_at"],
    "ix_client_stage_wecom": ["campaign_id", "wecom_at"],
    "ix_client_stage_pushed": ["campaign_id", "pushed_at"],
    "ix_client_stage_converted": ["campaign_id", "converted_at"],
    "ix_client_stage_dnc": ["campaign_id", "dnc", "do_not_call"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # revision 0005 made them
    for name, columns in INDEXES.items():
        op.create_index(name, "client_stage", columns, if_not_exists=True)


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
