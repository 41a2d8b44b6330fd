"""Who may see and change what on a shared PostgreSQL: the tables `reactivate access`
keeps (a login's role, a manager's branches, the group roles). The policies themselves
are made by `reactivate access init`, not here: they name group roles, which only a
role-making user can create.

Revision 0003.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_user",
        sa.Column("db_user", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("advisor_code", sa.String(), sa.ForeignKey("advisor.code"), nullable=True),
        sa.Column("granted_by", sa.String(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "access_branch",
        sa.Column("db_user", sa.String(), sa.ForeignKey("access_user.db_user"), primary_key=True),
        sa.Column("branch", sa.String(), sa.ForeignKey("branch.name"), primary_key=True),
    )
    op.create_table(
        "access_group",
        sa.Column("role", sa.String(), primary_key=True),
        sa.Column("db_role", sa.String(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
