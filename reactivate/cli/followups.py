"""`reactivate followups`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reactivate.cli.options import CampaignOption, DbOption, engine
from reactivate.cli.output import console, emit, table
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.followups import FollowupReport


class FollowupFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def followups(
    campaign: CampaignOption,
    advisor: Annotated[
        str | None,
        typer.Option("--advisor", help="help.followups.advisor"),
    ] = None,
    fmt: Annotated[
        FollowupFormat,
        typer.Option("--format", "-f", help="help.followups.fmt"),
    ] = FollowupFormat.table,
    workbooks: Annotated[
        Path | None,
        typer.Option(
            "--workbooks",
            help="help.followups.workbooks",
        ),
    ] = None,
    idle_days: Annotated[int, typer.Option("--idle-days", help="help.followups.idle_days")] = 3,
    db: DbOption = None,
) -> None:
    from reactivate.followups import followups as run
    from reactivate.render.tables import write_rows

    report = run(engine(db), campaign, advisor=advisor, idle_days=idle_days, workbooks=workbooks)
    data = report.to_json()
    if fmt is FollowupFormat.csv:
        write_rows(data["followups"], "csv", None, columns=_CSV_COLUMNS, bom=False)
    else:
        emit(fmt, data, lambda: _show(report, data))


_CSV_COLUMNS = (
    "client_id",
    "advisor",
    "name",
    "mobile",
    "reason",
    "reason_text",
    "attempts",
    "last_result",
    "last_call_at",
    "due_at",
)


# The last result is in json/csv; the table keeps to what fits 100 columns.
_SHOWN = {
    "client_id": "client",
    "advisor": "advisor",
    "name": "name",
    "mobile": "mobile",
    "reason_text": "reason",
    "attempts": "attempts",
    "last_call_at": "last_call",
    "due_at": "due",
}
_WHOLE = (0, 1, 3, 6, 7)  # ids, codes, mobiles and times are read whole or not at all


def _show(report: FollowupReport, data: dict[str, Any]) -> None:
    out = console()
    if not data["followups"]:
        out.print(t("summary.no_followups", campaign=report.campaign))
    else:
        title = t("summary.followups", campaign=report.campaign, count=data["count"])
        headers = [t(f"label.{label}") for label in _SHOWN.values()]
        listing = table(title, headers, ([item[k] for k in _SHOWN] for item in data["followups"]))
        for index in _WHOLE:
            listing.columns[index].no_wrap = True
        out.print(listing)
    if data["idle_advisors"]:
        out.print(t("summary.idle", days=report.idle_days))
        headers = [t(f"label.{k}") for k in ("advisor", "name", "last_upload", "idle_days")]
        idle = (
            [a["code"], a["name"], a["last_upload"] or "", a["days"]] for a in data["idle_advisors"]
        )
        out.print(table(None, headers, idle))
    if report.workbooks:
        folder = Path(report.workbooks[0]).parent.parent
        out.print(t("summary.followup_workbooks", count=len(report.workbooks), dir=folder))
