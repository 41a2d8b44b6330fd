"""`reactivate client show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit

if TYPE_CHECKING:
    from reactivate.report import Timeline

app = typer.Typer(help="One client's history in a campaign.", no_args_is_help=True)


@app.command("show")
def show(
    client_id: Annotated[str, typer.Argument(help="Client id (客户号), leading zeros included.")],
    campaign: CampaignOption,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """One client's timeline: every event with its source and who recorded it, voids marked.

    Example: reactivate client show 0010000001 --campaign 2020h2-dormant
    """
    from reactivate.report import client_timeline

    timeline = client_timeline(engine(db), campaign, client_id)
    emit(fmt, timeline.to_json(), lambda: _show(timeline))


def _show(timeline: Timeline) -> None:
    from reactivate.render.report import timeline_table

    console().print(timeline_table(timeline))
