"""Reject files: the operator's own rows that were refused, each with its reason.

UTF-8 with BOM so Excel opens the Chinese text correctly; written to a temporary
file and renamed, so a reject file is never half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from reactivate.errors import ConfigError, Rejection
from reactivate.files import Unwritable, text_written_whole
from reactivate.messages import os_problem, t
from reactivate.privacy import csv_cell
from reactivate.sheets.read import Table


def write_rejects(out: Path, table: Table, rejections: Sequence[Rejection]) -> int:
    """Copy the rejected rows of `table` (freshly opened) to `out` with their reasons.

    Returns the number of rows written. A row rejected for several reasons is written once.
    A file that cannot be written is a `ConfigError` naming it: callers write the rejects
    before they commit, so that nothing is applied when they cannot be kept.
    """
    try:
        return _write(out, table, rejections)
    except Unwritable as exc:
        raise ConfigError(t("error.rejects_unwritable", path=out, problem=exc.problem)) from exc
    except OSError as exc:
        raise ConfigError(t("error.rejects_unwritable", path=out, problem=os_problem(exc))) from exc


def _write(out: Path, table: Table, rejections: Sequence[Rejection]) -> int:
    reasons: dict[int, list[str]] = {}
    for rejection in rejections:
        reason = rejection.reason
        if rejection.column:
            reason = t(
                "where.reason", where=t("where.column", column=rejection.column), reason=reason
            )
        reasons.setdefault(rejection.row, []).append(reason)
    written = 0
    with text_written_whole(out, encoding="utf-8-sig") as stream:
        writer = csv.writer(stream)
        # the operator's own cells go back out: neutralised like every file we write
        writer.writerow([t("label.row"), *map(csv_cell, table.headers), t("label.reason")])
        for number, cells in table.rows:
            if number in reasons:
                writer.writerow(
                    [
                        number,
                        *(csv_cell(_text(c)) for c in cells),
                        t("where.reasons_separator").join(reasons[number]),
                    ]
                )
                written += 1
    return written


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
