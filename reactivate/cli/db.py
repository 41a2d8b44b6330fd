"""`reactivate db ...`: the database itself (schema upgrades, backups)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption
from reactivate.cli.output import console, print_json
from reactivate.messages import t

app = typer.Typer(help="help.db", no_args_is_help=True)


@app.command("upgrade", help="help.db.upgrade")
def upgrade(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import access
    from reactivate.db.engine import open_engine

    used = open_engine(db, upgrade=False)  # creates the database, as `init` does
    done = access.upgrade(used)
    if fmt is Format.json:
        print_json(
            {
                "before": done.before,
                "after": done.after,
                "legacy_version": done.legacy_version,
                "roles_applied": done.roles_applied,
            }
        )
        return
    url = used.url.render_as_string()
    if done.legacy_version is not None:
        before = t("label.db_legacy_version", version=done.legacy_version)
    elif done.before is not None:
        before = t("label.db_revision", revision=done.before)
    else:
        console().print(t("summary.db_created", url=url, after=done.after))
        return
    key = "summary.db_upgraded" if done.changed else "summary.db_current"
    console().print(t(key, url=url, before=before, after=done.after))
    if done.roles_applied:
        console().print(t("summary.db_roles_applied"))


@app.command("backup", help="help.db.backup")
def backup(
    file: Annotated[
        Path,
        typer.Argument(help="help.db.backup.file"),
    ],
    db: DbOption = None,
) -> None:
    from reactivate.db.backup import backup as copy_database
    from reactivate.db.engine import open_engine

    used = open_engine(db, create=False, upgrade=False)  # the copy is of the database as it is
    done = copy_database(used, file)
    url = used.url.render_as_string()
    console().print(t("summary.backup", url=url, file=done.path, size=f"{done.bytes:,}"))
