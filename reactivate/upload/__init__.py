"""`reactivate results ...`: advisors' sheets become stage events; undo and correct void them.

An upload (`write.upload`) goes, a batch of files at a time (about
`UploadOptions.batch_rows` rows; a file is never split), through steps 1-3, then writes
every batch's facts at once (4):

1. read (`read`): folders expanded, stamps verified, files opened two at a time (fastexcel
   reads without holding the GIL) and cleaned a column at a time, files alike together;
   a file only the row reader reads as it is, a row at a time;
2. look up (`members.Lookup`): the database's facts about every client named, in one
   pass a batch; when the upload names most of the campaign, every member is read once,
   at the first batch, and each batch's clients are taken from that frame;
3. check: the column checks (`columns`), which only accept, then the row checker
   (`rows`) for every row they leave, where every rule and its message live; the facts
   accepted rows state (`model.StagedFact`) are staged in a temporary table;
4. write (`write`), in one transaction, after every row is checked: the campaign's write
   lock (so two uploads at once queue instead of racing the duplicate check), one import
   per file (applied, refused, dry run or skipped), the new facts moved into `event` (a
   fact already present and not voided adds nothing; one stated by two rows counts for
   the first), and `client_stage` rebuilt for the clients touched.

A fact the sheet gives without a time (a call result with no call time, 是 with no add
time, a note) is timed at its first upload; restating it adds nothing. Uploads only ever
add evidence: a blank or 否 in a later sheet voids nothing. Mistakes are voided
explicitly (`void`: `undo`, `correct`), by appending void events. Memory holds one
batch's cleaned fields and their clients' columns (1.8 GB at a million rows held at
once), plus the ids of the clients named so far, for the rules across rows, and, for an
upload naming most of the campaign, every member's columns. The value
types and small shared helpers are in `model`.
"""

from reactivate.upload.model import (
    READING,
    WRITING,
    FileSummary,
    Progress,
    UploadOptions,
    UploadSummary,
    VoidSummary,
    disposition,
    find_product,
)
from reactivate.upload.read import expand
from reactivate.upload.void import correct, kinds_from, undo
from reactivate.upload.write import upload

__all__ = [
    "READING",
    "WRITING",
    "FileSummary",
    "Progress",
    "UploadOptions",
    "UploadSummary",
    "VoidSummary",
    "correct",
    "disposition",
    "expand",
    "find_product",
    "kinds_from",
    "undo",
    "upload",
]
