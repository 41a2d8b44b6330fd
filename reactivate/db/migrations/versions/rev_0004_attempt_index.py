"""`--by attempt` reads an index of the assigned clients' calls and reached call.

Revision 0004: a partial index on `client_stage` (campaign, calls, reached_call) over the
rows a funnel counts, so the dialer's pass report reads about a million small entries in
order instead of scanning and sorting the summary.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ASSIGNED = "advisor_code IS NOT NULL AND NOT control"


def upgrade() -> None:
    # a database brought up from before 0002 already has it: 0002's rebuild of the summary
    # makes the summary's indexes as the models now declare them
    op.create_index(
        "ix_client_stage_attempt",
        "client_stage",
        ["campaign_id", "calls", "reached_call"],
        sqlite_where=sa.text(_ASSIGNED),
        postgresql_where=sa.text(_ASSIGNED),
        if_not_exists=True,
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
