"""The index of what void events cancel holds the void events alone.

Revision 0014 (both databases): `ix_event_voids` holds only the events with a
`voids_event_id` (`WHERE voids_event_id IS NOT NULL`), where it held an entry for every
event: 30M entries of NULL at 10M members against 100,000 voids, one more for every event
an upload, a load's assignment or a sync inserts. Every statement that reads it looks for
the events voiding a given one (`v.voids_event_id = e.id`, or that and `IS NOT NULL`) or
for any void at all (`stages._rebuild`): an equality implies the condition, so both
databases still read it (benchmarks/README.md, branch `voids`, holds their plans).

On PostgreSQL the new index is built under another name before the old one goes: the
build takes a SHARE lock on `event` (writers wait, readers go on); dropping the old one
takes an ACCESS EXCLUSIVE lock, held to the commit, which then follows at once. Built
CONCURRENTLY it would let writers on too, but that cannot run in the upgrade's
transaction.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0012"  # 0013, an index of the `--dropped` lists, was tried and not released
branch_labels = None
depends_on = None

_WHERE = "voids_event_id IS NOT NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_event_voids")
        op.execute(f"CREATE INDEX ix_event_voids ON event (voids_event_id) WHERE {_WHERE}")
        return
    op.execute("DROP INDEX IF EXISTS ix_event_voids_partial")
    op.execute(f"CREATE INDEX ix_event_voids_partial ON event (voids_event_id) WHERE {_WHERE}")
    op.execute("DROP INDEX IF EXISTS ix_event_voids")
    op.execute("ALTER INDEX ix_event_voids_partial RENAME TO ix_event_voids")


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
