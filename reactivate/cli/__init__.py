"""The `reactivate` command line: Typer apps that parse, call the library and render.

One module per top-level command or command group, named after it; `options` and
`output` hold what they share. Heavy libraries (polars, SQLAlchemy, openpyxl, httpx) are
imported inside commands so that `reactivate --help` starts fast.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from reactivate.cli import (
    access,
    activity,
    advisors,
    assign,
    assignments,
    branches,
    campaign,
    client,
    coercion,
    db,
    demo,
    dnc,
    followups,
    imports,
    init,
    load,
    reassign,
    report,
    results,
    wecom,
)
from reactivate.cli import language as cli_language
from reactivate.cli.output import print_error
from reactivate.db import interrupts
from reactivate.db.interrupts import Interrupted
from reactivate.errors import ReactivateError
from reactivate.messages import speaking, t

coercion.install()  # Typer converts our options without pydantic (cli/coercion.py)


class _ReportingGroup(TyperGroup):
    """The one place a `ReactivateError` becomes `Error: ...` on stderr and exit code 1,
    and an interrupt one line saying whether anything was saved, and exit 130 (143 for
    SIGTERM). It also runs the command line in the user's language (`cli.language`)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        rest, lang = cli_language.take_lang(sys.argv[1:] if args is None else args)
        with speaking(lang):
            cli_language.translate(self, rest)
            return super().main(
                rest, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:
            _raise_translated(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            with interrupts.command():
                return super().invoke(ctx)
        except ReactivateError as exc:
            print_error(exc)
            raise typer.Exit(1) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM once `main` routed it here
            raise typer.Exit(_report_interrupt(exc)) from None
        except Exception as exc:
            if (interrupt := _interrupt_beneath(exc)) is not None:
                raise typer.Exit(_report_interrupt(interrupt)) from None
            # a shared PostgreSQL refusing what the caller's role may not do (SQLSTATE
            # 42501), where our own checks did not see it first: one line, not a traceback
            if getattr(getattr(exc, "orig", None), "sqlstate", None) != "42501":
                _raise_translated(exc)  # a usage error below the root: in the user's language
                raise
            print_error(t("access.db_refused", problem=str(exc.orig).splitlines()[0]))  # type: ignore[attr-defined]
            raise typer.Exit(1) from None


def _raise_translated(exc: Exception) -> None:
    """Raise typer's usage error `exc` in the user's language, when that is not English
    (typer prints it, or the help a command without arguments shows, after this)."""
    translated = cli_language.translated_error(exc)
    if translated is not exc:
        raise translated from None


def _interrupt_beneath(exc: BaseException) -> KeyboardInterrupt | None:
    """The interrupt `exc` was raised while handling, if any: a rollback that the
    interrupt made fail (a statement left half-sent) must not bury it."""
    seen: set[int] = set()
    cause = exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


def _report_interrupt(exc: KeyboardInterrupt) -> int:
    """Say whether anything was saved; returns the exit code."""
    saved = interrupts.commits() > 0
    print_error(t("error.interrupted_saved" if saved else "error.interrupted"))
    return exc.exit_code if isinstance(exc, Interrupted) else 130


app = typer.Typer(
    name="reactivate",
    cls=_ReportingGroup,
    help="help.reactivate",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # sheets hold personal data
    add_completion=False,
)


class Language(StrEnum):
    zh = "zh"
    en = "en"


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version  # only here: a tenth of --help's time

        typer.echo(f"reactivate {version('reactivate')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="help.opt.version"),
    ] = False,
    lang: Annotated[
        Language | None, typer.Option("--lang", help="help.opt.lang", show_default=False)
    ] = None,
) -> None:
    # `--lang` is taken out of the arguments before parsing, wherever it stands
    # (`cli.language.take_lang`); it is declared here to be listed and to refuse a bad value.
    pass


app.add_typer(campaign.app, name="campaign")
app.add_typer(advisors.app, name="advisors")
app.add_typer(branches.app, name="branches")
app.add_typer(dnc.app, name="dnc")
app.add_typer(imports.app, name="imports")
app.add_typer(activity.app, name="activity")
app.command("init", help="help.init")(init.init)
app.command("demo", help="help.demo")(demo.demo)
app.command("load", help="help.load")(load.load)
app.command("assign", help="help.assign")(assign.assign)
app.command("reassign", help="help.reassign")(reassign.reassign)
app.add_typer(assignments.app, name="assignments")
app.add_typer(results.app, name="results")
app.command("followups", help="help.followups")(followups.followups)
app.add_typer(wecom.app, name="wecom")
app.command("report", help="help.report")(report.report)
app.add_typer(client.app, name="client")
app.add_typer(db.app, name="db")
app.add_typer(access.app, name="access")


def _enable_completion() -> None:
    """Let the shell complete commands and options (`_REACTIVATE_COMPLETE=bash_source
    reactivate`, README): Typer registers its shells only with `add_completion`, whose
    --install-completion options we leave out of every help page."""
    from typer._completion_classes import completion_init

    completion_init()


def main() -> None:
    """Run the command line on `sys.argv`, SIGINT and SIGTERM routed (`reactivate.__main__`
    routes them before this module is imported)."""
    interrupts.install()
    if any(name.endswith("_COMPLETE") for name in os.environ):
        _enable_completion()
    try:
        _for_the_command_given(sys.argv[1:])()
    finally:
        late = interrupts.finish()  # came while the command line loaded or exited
        if late is not None:
            sys.exit(_report_interrupt(late))


def _for_the_command_given(argv: list[str]) -> typer.Typer:
    """`app`, with only the top-level command `argv` names when it names one: Typer works
    out every command's parameters at each start (about 20 ms for all of them), and a run
    uses one. Anything else (no command, an option first, a mistyped name) gets them all,
    for the root help and Typer's suggestions."""
    if not argv or argv[0].startswith("-") or app.registered_callback is None:
        return app
    name = argv[0]
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only
