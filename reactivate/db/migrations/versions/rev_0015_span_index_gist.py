"""The evidence span's index built by one sort: a GiST index of the spans as points.

Revision 0015 (PostgreSQL): `ix_client_stage_span` (revision 0010: SP-GiST over each
summary row's evidence span, a `tstzrange`) becomes a GiST index over the same span as a
point, its start's microseconds from 1970 by its end's (`stages.span_point`), for the same
rows (those with evidence; the point is NULL without). A window's stabbing query (the spans
holding its start) is then the points whose start is at most that moment and whose end
at least, a quadrant (`stages.span_holds`): the same rows, exactly. What changes is
the build: GiST sorts points (their operator class has sort support) and writes the index
in one pass, where SP-GiST, which has no sorted build, and GiST over ranges, which has no
sort support on PostgreSQL 15, insert every row one by one. A whole rebuild builds this
index anew (`bulk.indexes_built_after`): at 10M members the SP-GiST build took 160 s,
inserting into an index several times the server's buffers, the points' 76 s (this
revision's own build on that campaign: 45 s; benchmarks/README.md).

Built under another name before the old one goes, as revision 0014 does; the new
expression's statistics sampled after.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The span's ends and the index's expression, as `stages.span_point` writes it (frozen
#: here).
_FIRSTS = "called_at, wecom_at, pushed_at, converted_at"
_LASTS = "last_call_at, last_wecom_at, last_pushed_at, last_converted_at"
_EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"


def _microseconds(moment: str) -> str:
    return f"CAST(extract(epoch FROM ({moment}) - {_EPOCH}) * 1000000 AS DOUBLE PRECISION)"


POINT = (
    f"point({_microseconds(f'LEAST({_FIRSTS})')},"
    f" {_microseconds(f'GREATEST({_FIRSTS}, {_LASTS})')})"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_client_stage_span_point")
    op.execute(
        f"CREATE INDEX ix_client_stage_span_point ON client_stage USING gist ({POINT})"
        f" WHERE {POINT} IS NOT NULL"
    )
    op.execute("DROP INDEX IF EXISTS ix_client_stage_span")
    op.execute("ALTER INDEX ix_client_stage_span_point RENAME TO ix_client_stage_span")
    op.execute("ANALYZE client_stage")


def downgrade() -> None:
    raise NotImplementedError("No downgrades: restore the backup taken before upgrading.")
