"""PostgreSQL's summary indexes hold only the rows read through them.

Revision 0011 (PostgreSQL): `client_stage`'s advisor and attempt indexes hold the assigned
members' rows alone (`advisor_code IS NOT NULL`), and its do-not-call index the rows both
on the list and with a do-not-call answer (`dnc AND do_not_call`, as SQLite's since
revision 0005). Every statement that reads through them names an advisor, the assigned
members (`tally.assigned`) or both flags, which imply these conditions; a load's new
members (no advisor, no events) then have no entry in any of them, where each had one in
all three. Made here alone: `postgresql_where` in the models would make every SQLite
command import PostgreSQL's dialect (`models.REVISION_ONLY`).
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Each index: its columns and the rows it holds (frozen here).
INDEXES = {
    "ix_client_stage_advisor": ("campaign_id, advisor_code", "advisor_code IS NOT NULL"),
    "ix_client_stage_attempt": (
        "campaign_id, calls, reached_call, advisor_code, control",
        "advisor_code IS NOT NULL",
    ),
    "ix_client_stage_dnc": ("campaign_id, dnc, do_not_call", "dnc AND do_not_call"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, (columns, where) in INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON client_stage ({columns}) WHERE {where}")


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
