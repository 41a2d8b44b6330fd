"""A date window's counts and medians are sums over the days inside it.

Revision 0006: `stage_dates`, per breakdown group and local day the clients who first
reached each stage (with their whole days, reactivated and callable among them), first
added on WeCom and first confirmed, and the cohorts' skipping days (`models.STAGE_DATES`,
kept by `db.tally`); every campaign's summary and tallies are rebuilt to fill it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # revision 0002's rebuild, run on a database brought up from before it, writes the
    # tallies as this release keeps them, so it made the table already
    if not sa.inspect(bind).has_table("stage_dates"):
        op.create_table(
            "stage_dates",
            sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
            sa.Column("dim", sa.String(), nullable=False),
            sa.Column("date", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("stage", sa.String(), nullable=False),
            sa.Column("day", sa.Integer(), nullable=False),
            *(
                sa.Column(name, sa.Integer(), nullable=False)
                for name in ("clients", "reactivated", "callable")
            ),
            sa.PrimaryKeyConstraint(
                "campaign_id", "dim", "date", "key", "assigned_at", "stage", "day"
            ),
        )
        from reactivate.db import stages

        for (campaign_id,) in bind.exec_driver_sql("SELECT id FROM campaign").all():
            stages.refresh(bind, int(campaign_id))


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
