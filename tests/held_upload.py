"""`reactivate ARGS...` whose upload stalls before it commits: `python held_upload.py SECONDS ARGS...`.

Once the upload's write transaction has recorded its imports and written its events
(`upload.write.record_upload`), this tells stderr `holding the upload transaction` and
sleeps SECONDS before the commit: two uploads then overlap for sure, and a test has a
moment to kill one.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from reactivate.cli import main
from reactivate.upload import write

HOLDING = "holding the upload transaction"


def _held(seconds: float) -> None:
    record_upload = write.record_upload

    def held(*args: Any, **kwargs: Any) -> None:
        record_upload(*args, **kwargs)
        sys.stderr.write(HOLDING + "\n")
        sys.stderr.flush()
        time.sleep(seconds)

    write.record_upload = held


if __name__ == "__main__":
    _held(float(sys.argv[1]))
    sys.argv[1:] = sys.argv[2:]  # the CLI reads its arguments from sys.argv
    main()
