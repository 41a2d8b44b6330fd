"""Bring a database's schema to this release's: Alembic revisions, run in one transaction.

`upgrade` is what `reactivate db upgrade` runs, and what opening an engine runs when
the database is not at `HEAD` (`reactivate.db.engine`); it imports Alembic, which a
current database never needs. Databases from before revisions carry only
`meta.schema_version`: version 2 (the baseline revision's schema) is checked for every
table and index of the baseline and stamped; version 1 first gets what version 2 added
(the funnel columns of `client_stage`, filled by a refresh of every campaign).

A shared PostgreSQL with roles in force (`roles_in_force`) is upgraded only by `reactivate
db upgrade`, which applies the roles' grants and functions again in the same transaction
(`reactivate.access.upgrade`): a new release's tables and summary refresh would otherwise
be out of the roles' reach until someone ran `access init` again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, select

from reactivate.db import bulk, locks
from reactivate.db.migrations import HEAD, baseline
from reactivate.errors import DatabaseError
from reactivate.messages import t

#: The oldest PostgreSQL the schema is made on: the summary keeps a client's later call
#: times as multiranges (revision 0012), which PostgreSQL has from version 14.
OLDEST_POSTGRESQL = (14,)


@dataclasses.dataclass(frozen=True)
class Upgraded:
    """What an upgrade found and left: revisions (None: none recorded), and the schema
    version of a database from before revisions."""

    before: str | None
    after: str | None
    legacy_version: int | None = None
    roles_applied: bool = False  # the roles' grants and functions applied again

    @property
    def changed(self) -> bool:
        return self.before != self.after


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the revisions shipped in the package."""
    settings = Config(attributes={"connection": connection})
    settings.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return settings


def upgrade(
    engine: Engine,
    *,
    create: bool = True,
    roles: Callable[[Connection], object] | None = None,
) -> Upgraded:
    """Upgrade the database to `HEAD` in one transaction; an empty one is created when
    `create`. Refuses (`DatabaseError`) a database at a revision this release does not
    know: a newer release upgraded it. Where roles are in force, `roles` applies their
    grants and functions again in the same transaction, even when the schema was current
    (a release may change the summary's refresh without a revision); without it such a
    database, when not current, is refused (only `reactivate db upgrade` passes it)."""
    with engine.begin() as conn:
        server = conn.dialect.server_version_info or ()
        if conn.dialect.name == "postgresql" and server < OLDEST_POSTGRESQL:
            raise DatabaseError(
                t(
                    "error.postgresql_too_old",
                    url=engine.url,
                    found=".".join(map(str, server)),
                    oldest=".".join(map(str, OLDEST_POSTGRESQL)),
                )
            )
        locks.lock_schema(conn)  # two first runs at once: the second finds the work done
        settings = config(conn)
        before = MigrationContext.configure(conn).get_current_revision()
        legacy = None
        if before is None:
            legacy = _legacy_version(conn)
            if legacy is None and not create:
                return Upgraded(before=None, after=None)
            if legacy is not None:
                _adopt(conn, legacy)
                command.stamp(settings, baseline.REVISION)
        elif before not in _known(settings):
            raise DatabaseError(t("error.db_revision", url=engine.url, found=before, known=HEAD))
        shared = roles_in_force(conn)
        if shared and roles is None and before != HEAD:
            raise DatabaseError(
                t("error.db_upgrade_shared", url=engine.url, found=before, known=HEAD)
            )
        command.upgrade(settings, "head")
        if legacy is not None and legacy < baseline.SCHEMA_VERSION:
            _refresh_every_campaign(conn)
        if shared and roles is not None:
            roles(conn)
    return Upgraded(
        before=before, after=HEAD, legacy_version=legacy, roles_applied=shared and roles is not None
    )


def roles_in_force(conn: Connection) -> bool:
    """A PostgreSQL database whose group roles `access init` recorded (revision 0003's
    `access_group`)."""
    if conn.dialect.name != "postgresql" or not inspect(conn).has_table("access_group"):
        return False
    return conn.exec_driver_sql("SELECT 1 FROM access_group LIMIT 1").first() is not None


def _known(settings: Config) -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(settings).walk_revisions()}


def _legacy_version(conn: Connection) -> int | None:
    """`meta.schema_version` of a database from before revisions; None for an empty one."""
    if not inspect(conn).has_table("meta"):
        return None
    meta = baseline.SCHEMA.tables["meta"]
    found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(found) if found is not None else 0


def _adopt(conn: Connection, version: int) -> None:
    """Bring a database from before revisions to the baseline's schema, in place."""
    if version > baseline.SCHEMA_VERSION:
        raise DatabaseError(
            t("error.db_version", url=conn.engine.url, found=version, known=baseline.SCHEMA_VERSION)
        )
    # tables an early version 1 did not have yet (creating them creates their indexes)
    baseline.SCHEMA.create_all(conn)
    if version < 2:
        stage_table = baseline.SCHEMA.tables["client_stage"]
        present = {column["name"] for column in inspect(conn).get_columns(stage_table.name)}
        for name, ddl in baseline.FUNNEL_COLUMNS.items():
            if name not in present:
                conn.exec_driver_sql(f"ALTER TABLE {stage_table.name} ADD COLUMN {name} {ddl}")
    # and indexes added to existing tables later in version 1's life, or by version 2
    for table in baseline.SCHEMA.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    bulk.upsert(
        conn,
        baseline.SCHEMA.tables["meta"],
        [{"key": "schema_version", "value": str(baseline.SCHEMA_VERSION)}],
        ["key"],
    )


def _refresh_every_campaign(conn: Connection) -> None:
    """Fill the funnel columns a version-1 database lacked, once the schema is current
    (the refresh writes what this release's summary holds)."""
    from reactivate.db import stages
    from reactivate.db.models import CAMPAIGNS

    for campaign_id in conn.execute(select(CAMPAIGNS.c.id)).scalars().all():
        stages.refresh(conn, campaign_id)
