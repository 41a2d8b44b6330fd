"""What every summary of a file's work shares: the counts it reports, in their order.

A summary (`LoadSummary`, `FileSummary`, `RosterSummary`, ...) marks each of its counts
with `count_field()`; `counts()` gives them for the import log, JSON and the CLI's tables.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any

_COUNT = "count"


def count_field() -> Any:
    """A dataclass field that is one of the summary's counts, starting at 0."""
    return field(default=0, metadata={_COUNT: True})


class Counted:
    """A dataclass summary whose `count_field()` fields are its counts."""

    def counts(self) -> dict[str, int]:
        """The counts, by field name, in the order the fields are declared."""
        own = fields(self)  # type: ignore[arg-type]  # every subclass is a dataclass
        return {f.name: getattr(self, f.name) for f in own if f.metadata.get(_COUNT)}
