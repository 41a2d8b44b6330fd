"""A week's window reads only the clients who may have evidence inside it.

Revision 0005 (SQLite): indexes on `client_stage` by campaign and first call (with the last
call), first WeCom add, first push and first conversion, so that a date window finds
the clients first seen inside it, or seen before it and called again, by index ranges
(`report.source._returning_inside`) instead of reading every assigned client; and by do-not-call
membership and answer, for the window's never-called count (`report.funnels._callable`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Each index: its columns, and the rows it holds (an upload rewrites every index entry of
#: each summary row it touches). SQLite only.
INDEXES = {
    "ix_client_stage_called": (
        ["campaign_id", "called_at", "last_call_at"],
        "called_at IS NOT NULL",
    ),
    "ix_client_stage_wecom": (["campaign_id", "wecom_at"], "wecom_at IS NOT NULL"),
    "ix_client_stage_pushed": (["campaign_id", "pushed_at"], "pushed_at IS NOT NULL"),
    "ix_client_stage_converted": (["campaign_id", "converted_at"], "converted_at IS NOT NULL"),
    "ix_client_stage_dnc": (["campaign_id", "dnc", "do_not_call"], "dnc AND do_not_call"),
}


def upgrade() -> None:
    # PostgreSQL reads a week's summary rows by one scan at 10M even with them, and would
    # pay for five more indexes at every load, upload and rebuild
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, (columns, where) in INDEXES.items():
        op.create_index(
            name, "client_stage", columns, if_not_exists=True, sqlite_where=sa.text(where)
        )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
