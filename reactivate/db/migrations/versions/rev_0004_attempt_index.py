"""`--by attempt` reads an index of the summary's calls and reached call.

Revision 0004: an index on `client_stage` (campaign, calls, reached_call, advisor_code,
control), so the dialer's pass report counts the assigned clients from the index alone,
in its order, instead of scanning and sorting the summary.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a database brought up from before 0002 already has it: 0002's rebuild of the summary
    # makes the summary's indexes as the models now declare them
    op.create_index(
        "ix_client_stage_attempt",
        "client_stage",
        ["campaign_id", "calls", "reached_call", "advisor_code", "control"],
        if_not_exists=True,
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
