"""`reactivate client show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit

if TYPE_CHECKING:
    from reactivate.report import Timeline

app = typer.Typer(help="help.client", no_args_is_help=True)


@app.command("show", help="help.client.show")
def show(
    client_id: Annotated[str, typer.Argument(help="help.client.show.client_id")],
    campaign: CampaignOption,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.report import client_timeline

    timeline = client_timeline(engine(db), campaign, client_id)
    emit(fmt, timeline.to_json(), lambda: _show(timeline))


def _show(timeline: Timeline) -> None:
    from reactivate.render.report import timeline_table

    console().print(timeline_table(timeline))
