"""The report's tallies: counts and whole-day histograms per breakdown group, kept in step
with `client_stage`, which now carries each row's breakdown keys.

Revision 0002. SQLite's per-stage median indexes on `client_stage` go (medians are read
from `stage_days`); every campaign's summary and tallies are rebuilt from the events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DAYS = ("called", "reached", "wecom", "pushed", "converted")
_COUNTS = (
    "members",
    "dnc",
    "reactivated",
    "confirmed",
    "skipped",
    "quiet",
    "dnc_calls",
    "wecom_unconfirmed",
    *(f"at{j}" for j in range(1, 6)),
    *(f"rat{j}" for j in range(1, 6)),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for days in _DAYS:
            op.execute(f"DROP INDEX IF EXISTS ix_client_stage_{days}_days")
    op.add_column("client_stage", sa.Column("branch", sa.String(), nullable=True))
    op.add_column("client_stage", sa.Column("risk", sa.Integer(), nullable=True))
    op.add_column("client_stage", sa.Column("asset_band", sa.String(), nullable=True))
    op.add_column("client_stage", sa.Column("cohort", sa.String(), nullable=True))
    op.add_column("client_stage", sa.Column("reached_call", sa.Integer(), nullable=True))
    op.create_table(
        "stage_tally",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arm", sa.String(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint("campaign_id", "dim", "key", "assigned_at", "arm"),
    )
    op.create_table(
        "stage_days",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "dim", "key", "stage", "day"),
    )
    # releases from before revisions must refuse this database rather than write to it
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    from reactivate.db import stages
    from reactivate.db.models import LAST_TIMES, STAGE_DATES, UTCDateTime

    # the rebuild writes the tallies and the summary as this release keeps them (revision
    # 0006's table, revision 0009's and 0012's columns)
    STAGE_DATES.create(bind, checkfirst=True)
    for name in LAST_TIMES:
        op.add_column("client_stage", sa.Column(name, UTCDateTime(), nullable=True))
    if bind.dialect.name == "postgresql":  # revision 0012's
        for name in stages.LATER_CALLS:
            op.execute(f"ALTER TABLE client_stage ADD COLUMN {name} tstzmultirange")
    for (campaign_id,) in bind.exec_driver_sql("SELECT id FROM campaign").all():
        stages.refresh(bind, int(campaign_id))


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
