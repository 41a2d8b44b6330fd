"""Alembic's entry point: run the revisions on the connection `reactivate.db.migrate` opened,
inside its transaction."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    # SQLite alters most things only by copying the table: let `op.batch_alter_table` do it
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
