"""`reactivate init`."""

from __future__ import annotations

from reactivate.cli.options import DbOption, engine
from reactivate.cli.output import console
from reactivate.messages import t


def init(db: DbOption = None) -> None:
    from reactivate.db.models import SCHEMA_VERSION

    used = engine(db, create=True)
    console().print(t("summary.init", url=used.url.render_as_string(), version=SCHEMA_VERSION))
