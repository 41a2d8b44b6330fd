"""The upload's value types and the small pure helpers its steps share.

Summaries the commands render (`FileSummary`, `UploadSummary`, `VoidSummary`), the
options (`UploadOptions`), the records the steps pass along (`UploadFile`, `Member`,
`Context`, `StagedFact`), the fields of a results row with their parsers, and the
readings of a call result (`disposition`) and a product (`find_product`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from reactivate.errors import Rejection
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.rules.campaign import Campaign, Product
from reactivate.sheets import values
from reactivate.sheets.clean import errors_json
from reactivate.sheets.fields import RESULT_FIELDS
from reactivate.sheets.values import BadValue
from reactivate.sheets.workbook import Stamp
from reactivate.summary import Counted, count_field

#: Import kind in `import_record`.
KIND = "results"

#: The fields of a results row, in the order a cleaned row holds them.
FIELD_NAMES = tuple(spec.name for spec in RESULT_FIELDS)
#: The fields a row states something in besides whose row it is.
INPUT_FIELDS = tuple(name for name in FIELD_NAMES if name not in ("client_id", "advisor"))
#: Field -> its place in a cleaned row.
INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}
# A column a sheet lacks is named in messages by its usual Chinese header.
_DEFAULT_HEADERS = {spec.name: spec.aliases[1] for spec in RESULT_FIELDS}


# ----------------------------------------------------------------------------- parsing

_DISPOSITION_WORDS: dict[str, str] = {}
for _code, _labels in funnel.DISPOSITION_LABELS.items():
    for _word in (_code, _code.replace("_", " "), _code.replace("_", "-"), *_labels):
        _DISPOSITION_WORDS[values.text(_word).casefold()] = _code  # type: ignore[union-attr]
_DISPOSITION_WORDS.update(
    {"do not call": funnel.DO_NOT_CALL, "no answer": funnel.NO_ANSWER, "call back": funnel.CALLBACK}
)


def disposition(value: object) -> str | None:
    """A call result as its code, from the code or any Chinese label; None when blank.

    >>> disposition("未接"), disposition("Connected"), disposition("预约回电")
    ('no_answer', 'connected', 'callback')
    """
    cleaned = values.text(value)
    if cleaned is None:
        return None
    found = _DISPOSITION_WORDS.get(cleaned.casefold())
    if found is None:
        raise BadValue(t("reject.bad_disposition", value=cleaned, choices=_choices()))
    return found


def _choices() -> str:
    return t("list.separator").join(labels[0] for labels in funnel.DISPOSITION_LABELS.values())


def _attempts(value: object) -> int | None:
    number = values.integer(value)
    if number is not None and number < 0:
        raise BadValue(t("reject.bad_int", value=number))
    return number


#: Field -> the parser that cleans its cells (the one definition of a clean value).
PARSERS: dict[str, Callable[[object], Any]] = {
    "client_id": values.client_id,
    "advisor": values.text,
    "called_at": values.datetime,
    "call_result": disposition,
    "attempts": _attempts,
    "callback_at": values.datetime,
    "wecom_added": values.boolean,
    "wecom_added_at": values.datetime,
    "product": values.text,
    "pushed_at": values.datetime,
    "converted": values.boolean,
    "converted_at": values.datetime,
    "note": values.text,
}


def find_product(campaign: Campaign, named: str) -> Product | None:
    """The product named by code, by name, or by a workbook's 'CODE 名称' dropdown label."""
    found = campaign.product(named)
    if found is None and " " in named.strip():
        found = campaign.product(named.strip().split(" ", 1)[0])
    return found


# ----------------------------------------------------------------------------- summaries


@dataclass
class FileSummary(Counted):
    """What one file of an upload did. rows = applied + unchanged + rejected."""

    file: str
    sha256: str
    rows: int = count_field()
    applied: int = count_field()
    unchanged: int = count_field()
    rejected: int = count_field()
    events: int = count_field()
    foreign: int = count_field()
    status: str = "pending"  # applied | refused | dry_run | skipped
    import_id: int | None = None
    same_as: int | None = None  # the earlier import of the same file, when skipped
    rejects_path: str | None = None


@dataclass
class UploadSummary:
    """What a whole upload did, file by file, with every rejection."""

    campaign: str
    files: list[FileSummary] = field(default_factory=list)
    errors: list[Rejection] = field(default_factory=list)
    dry_run: bool = False
    skip_invalid: bool = False
    applied: bool = False

    @property
    def refused(self) -> bool:
        """Rejected rows and no --skip-invalid: nothing was (or, in a dry run, would be) written."""
        return bool(self.errors) and not self.applied and not self.skip_invalid

    def totals(self) -> dict[str, int]:
        out = {"files": len(self.files)}
        for key in ("rows", "applied", "unchanged", "rejected", "events"):
            out[key] = sum(getattr(f, key) for f in self.files)
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.totals()
        data["skipped_files"] = sum(1 for f in self.files if f.status == "skipped")
        data["foreign"] = sum(f.foreign for f in self.files)
        data["dry_run"] = self.dry_run
        data["imports"] = [
            {
                "file": f.file,
                "import_id": f.import_id,
                "status": f.status,
                "same_as": f.same_as,
                "rejects_file": f.rejects_path,
                **f.counts(),
            }
            for f in self.files
        ]
        data["errors"] = errors_json(self.errors)
        return data


#: Rows an upload reads and checks at a time (files are not split: a file is one batch's);
#: the staged facts of every batch are written in one transaction. 5,000 workbooks of
#: 10M rows at once would hold every row's cleaned fields: about 1.8 GB a million.
BATCH_ROWS = 250_000


@dataclass
class UploadOptions:
    skip_invalid: bool = False
    dry_run: bool = False
    allow_foreign: bool = False
    advisor: str | None = None  # for plain sheets without an advisor column
    batch_rows: int = BATCH_ROWS


@dataclass
class VoidSummary:
    """What an undo or a correction voided."""

    campaign: str
    voided: int
    clients: int
    import_id: int | None = None
    client_id: str | None = None
    stage: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "import_id": self.import_id,
            "client_id": self.client_id,
            "stage": self.stage,
            "voided": self.voided,
            "clients": self.clients,
        }


#: Told how far an upload has got: (`READING` or `WRITING`, files read, files to read).
Progress = Callable[[str, int, int], None]
READING, WRITING = "reading", "writing"


# ----------------------------------------------------------------------------- records


@dataclass
class UploadFile:
    """One file of an upload as it is read and checked: its summary, its stamp, and the
    rejections of its rows."""

    path: Path
    summary: FileSummary
    sheet: str | None = None
    stamp: Stamp | None = None
    problem: str | None = None  # a reason that rejects every row of the file
    errors: list[Rejection] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as the file spells it

    def header(self, field_name: str | None) -> str | None:
        if field_name is None:
            return None
        return self.headers.get(field_name) or _DEFAULT_HEADERS.get(field_name, field_name)


class Member(NamedTuple):
    """What the database says about one client the upload names."""

    known: bool
    member: bool
    advisor: str | None
    assigned_at: dt.datetime | None
    control: bool
    dnc: bool  # member flag or the firm-wide list
    risk: int | None
    dnc_call_at: dt.datetime | None  # first do-not-call result in this campaign
    # calls recorded so far: a sheet's attempts count up to it (a follow-up workbook
    # starts its 拨打次数 there) is no new call
    attempts_so_far: int = 0


def member_of(record: Mapping[str, Any]) -> Member:
    """The database's facts about a row's client, from its joined member columns
    (`columns.MEMBER_COLUMNS`)."""
    return Member(
        bool(record["known"]),
        bool(record["member"]),
        record["member_advisor"],
        record["assigned_at"],
        bool(record["control"]),
        bool(record["dnc"]),
        record["risk"],
        record["dnc_call_at"],
        record["attempts_so_far"] or 0,
    )


@dataclass
class Context:
    """What every row is checked against: the campaign, the time of the upload, the
    advisors."""

    campaign: Campaign
    campaign_id: int
    now: dt.datetime  # aware UTC
    advisor_codes: frozenset[str]
    advisor_by_name: dict[str, str]


#: One event a row states, as a row of the staged table (`write.event_columns` order):
#: client_id, stage, value, occurred_at (as stored), match_time (0 when the sheet gave no
#: time, or for kinds whose time is not part of the fact, like a reported attempts
#: count), advisor_code, file_index, source_row, source_ref.
StagedFact = tuple[str, str, str | None, Any, int, str, int, int, str | None]
