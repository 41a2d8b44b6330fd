"""Scratch folders for bulk work, private to the user, swept of what killed runs left.

A load stages its rows (every name and mobile in the file) in a SQLite scratch file
(`bulk.begin_with_frame`). A run killed midway cannot remove it, and the purge never
reaches it. So scratch folders live in `<temp>/reactivate-<user>/`, which only the user
may enter (0700), each named `stage-<pid>-...` after its process; every bulk operation
first removes the folders whose process is gone, or that are older than `STALE_AFTER`
(a pid can be reused).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from reactivate.errors import ConfigError
from reactivate.messages import t

#: A scratch folder this old is a leftover whatever its pid says (no bulk step runs as long).
STALE_AFTER = 6 * 3600.0

_NAMED = re.compile(r"stage-(\d+)-.+")


def root() -> Path:
    """The user's own folder for scratch under the temporary folder (not created here)."""
    owner = str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"reactivate-{owner}"


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    """A new scratch folder of this process's, removed afterwards whatever happens."""
    private = _private_root()
    path = Path(tempfile.mkdtemp(prefix=f"stage-{os.getpid()}-", dir=private))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep() -> None:
    """Remove the scratch folders of runs that are over: their process is gone (killed,
    or crashed) or they are older than `STALE_AFTER`."""
    found = root()
    if not found.is_dir() or found.is_symlink():
        return
    now = time.time()
    for entry in found.iterdir():
        named = _NAMED.fullmatch(entry.name)
        if named is None or int(named[1]) == os.getpid():
            continue
        with contextlib.suppress(FileNotFoundError):  # another run swept it first
            if _gone(int(named[1])) or now - entry.lstat().st_mtime > STALE_AFTER:
                shutil.rmtree(entry, ignore_errors=True)


def _private_root() -> Path:
    """`root()`, created 0700 when missing; refused when it is not the user's own folder
    (anyone may create a name in a shared temporary folder first)."""
    path = root()
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    found = path.lstat()
    theirs = hasattr(os, "getuid") and found.st_uid != os.getuid()
    if not stat.S_ISDIR(found.st_mode) or theirs:
        raise ConfigError(t("error.scratch_not_private", folder=path))
    if stat.S_IMODE(found.st_mode) & 0o077:
        path.chmod(0o700)
    return path


def _gone(pid: int) -> bool:
    """Whether no process has id `pid` (never said on Windows, where os.kill would end it)."""
    if os.name == "nt":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
