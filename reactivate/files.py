"""Files we write are written whole or not at all: a command stopped half-way (Ctrl+C, a
full disk, a row that fails late) leaves the file that was there before, or none, never
half a workbook or half a list that a user would take for the whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from reactivate.errors import ConfigError
from reactivate.messages import os_problem, t


class Unwritable(ConfigError):
    """`out` could not be written (the folder refused it, the disk is full, ...); the file
    that was there, if any, is unchanged. `problem` says what the system refused."""

    def __init__(self, out: Path, problem: str) -> None:
        super().__init__(t("error.file_unwritable", path=out, problem=problem))
        self.problem = problem


@contextmanager
def written_whole(out: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `out` (its folder made if missing) to write to, moved over
    `out` when the block ends and removed if it fails. Beside it, because a move within
    one folder replaces the file in one step; hidden (a leading dot) and private to the
    user (mkstemp's mode 0600), because it may hold clients' data. What the system
    refuses on the way is an `Unwritable` naming `out`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=suffix)
        os.close(handle)
    except OSError as exc:
        raise Unwritable(out, os_problem(exc)) from exc
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, out)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise Unwritable(out, os_problem(exc)) from exc
        raise


@contextmanager
def text_written_whole(out: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """`written_whole` as a text stream (newlines written as given)."""
    with written_whole(out) as temp, temp.open("w", encoding=encoding, newline="") as stream:
        yield stream
