"""A copy of a SQLite database, taken while others keep working.

SQLite's online backup API copies every page as of one moment (a WAL reader sees one
snapshot while writers carry on), so the copy is consistent without stopping anyone.
PostgreSQL has its own tools, which this points to instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from reactivate.errors import ConfigError
from reactivate.messages import os_problem, t


@dataclasses.dataclass(frozen=True)
class Backup:
    """Where the copy went and how big it is."""

    path: Path
    bytes: int


def backup(engine: Engine, target: Path) -> Backup:
    """Copy the SQLite database behind `engine` to `target`, a new file only its owner may
    read (it holds every name and mobile). The schema is copied as found: back up before
    an upgrade. PostgreSQL is refused with how to use pg_dump."""
    if engine.dialect.name != "sqlite":
        url = engine.url.set(drivername="postgresql").render_as_string()
        raise ConfigError(t("error.backup_postgresql", url=url))
    source = Path(engine.url.database or "")
    if not source.is_file() or source.stat().st_size == 0:
        raise ConfigError(t("error.backup_nothing", file=source))
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise ConfigError(t("error.backup_exists", file=target)) from None
    except OSError as exc:
        raise ConfigError(t("error.backup_target", file=target, problem=os_problem(exc))) from None
    try:
        raw = engine.raw_connection()
        try:
            with contextlib.closing(sqlite3.connect(target)) as copy:
                raw.driver_connection.backup(copy)  # type: ignore[union-attr]
        finally:
            raw.close()
    except BaseException:
        target.unlink(missing_ok=True)  # no half copy left to be mistaken for a backup
        raise
    return Backup(path=target, bytes=target.stat().st_size)
