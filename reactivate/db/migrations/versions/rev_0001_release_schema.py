"""The schema of the last release before revisions (its schema version 2).

Revision 0001, the first.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import insert

from reactivate.db.migrations.baseline import REVISION, SCHEMA, SCHEMA_VERSION

revision = REVISION
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    SCHEMA.create_all(bind)
    # releases from before revisions read this; at 2 they open the database as their own
    bind.execute(
        insert(SCHEMA.tables["meta"]).values(key="schema_version", value=str(SCHEMA_VERSION))
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
