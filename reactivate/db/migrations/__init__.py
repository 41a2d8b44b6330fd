"""The schema's history as Alembic revisions, shipped inside the package.

`versions/` holds one file per revision; `env.py` runs them on the connection
`reactivate.db.migrate` hands over (no alembic.ini). Revision 0001 is the schema of the
last release before revisions (`baseline`); databases of that release, and of its
version 1, are brought to it and stamped by `reactivate.db.migrate`.

A new revision: change `reactivate.db.models`, then

    .venv/bin/python -c "from alembic import command; from reactivate.db import migrate; \\
        command.revision(migrate.config(), message='what changes', rev_id='0002')"

write its `upgrade()` with `op` calls (SQLite needs `op.batch_alter_table` for most
ALTERs), set `HEAD` below to its id, and set `meta.schema_version` to 3 in it the first
time, so that releases from before revisions refuse the database instead of writing to it.
tests/test_migrations.py holds the revisions to the models.
"""

#: The newest revision in versions/: opening a database at it costs one query and no
#: import of Alembic (a test holds it equal to the scripts' head).
HEAD = "0015"
