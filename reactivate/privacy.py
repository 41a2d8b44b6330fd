"""What may leave the system: personal data masked, and no cell a spreadsheet would run.

Masking applies to everything that is not the assigned advisor's own file. Neutralising
applies to every CSV and xlsx we write: a cell a user or an attacker typed as
`=HYPERLINK(...)` must come out as that text, never as a formula (OWASP's CSV-injection
rule: a leading `'` in CSV, a string cell in xlsx).
"""

from __future__ import annotations

from typing import Any

#: What a spreadsheet may take as the start of a formula (or of DDE) in a text cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: xlsxwriter options for every workbook we write: text stays text, whatever it starts with.
SAFE_XLSX: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False}


def csv_cell(value: object) -> object:
    """`value` as a CSV cell no spreadsheet runs: text that could start a formula gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def mask_mobile(mobile: str | None) -> str:
    """138****8000: keep the carrier prefix and the last four digits."""
    if not mobile:
        return ""
    if len(mobile) < 8:
        return "*" * len(mobile)
    return f"{mobile[:3]}****{mobile[-4:]}"


def mask_name(name: str | None) -> str:
    """张*, 欧阳** : keep the first character (the family name, usually), star the rest."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)
