"""The `reactivate` command line: Typer apps that parse, call the library and render.

Heavy libraries (pandas, sqlmodel, openpyxl) are imported inside commands so that
`reactivate --help` starts fast.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from reactivate.cli import activity, advisors, assignment, campaigns, db, demo, imports, loading
from reactivate.cli import report as report_cli
from reactivate.cli import results as results_cli
from reactivate.cli import wecom as wecom_cli
from reactivate.cli.common import print_error
from reactivate.errors import ReactivateError


class _ReportingGroup(TyperGroup):
    """The one place a `ReactivateError` becomes `Error: ...` on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ReactivateError as exc:
            print_error(exc)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="reactivate",
    cls=_ReportingGroup,
    help="Win back dormant brokerage clients: load, assign, track call -> WeCom -> push, report.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # sheets hold personal data
    add_completion=False,
)
app.add_typer(campaigns.app, name="campaign")
app.add_typer(advisors.app, name="advisors")
app.add_typer(advisors.branches_app, name="branches")
app.add_typer(loading.dnc_app, name="dnc")
app.add_typer(imports.app, name="imports")
app.add_typer(activity.app, name="activity")
app.command("init")(campaigns.init)
app.command("demo")(demo.demo)
app.command("load")(loading.load)
app.command("assign")(assignment.assign)
app.command("reassign")(assignment.reassign)
app.add_typer(assignment.app, name="assignments")
app.add_typer(results_cli.app, name="results")
app.command("followups")(results_cli.followups)
app.add_typer(wecom_cli.app, name="wecom")
app.command("report")(report_cli.report)
app.add_typer(report_cli.client_app, name="client")
app.add_typer(db.app, name="db")


def main() -> None:
    """Console-script entry point."""
    app()
