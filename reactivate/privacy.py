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


def masked_name_sql(column: str, *, sqlite: bool) -> str:
    """`mask_name` as a SQL expression over `column` (NULL and '' kept as they are)."""
    stars = _stars_sql(f"{'max' if sqlite else 'greatest'}(1, length({column}) - 1)", sqlite)
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column}"
        f" ELSE substr({column}, 1, 1) || {stars} END"
    )


def masked_mobile_sql(column: str, *, sqlite: bool) -> str:
    """`mask_mobile` as a SQL expression over `column` (NULL and '' kept as they are)."""
    last_four = f"substr({column}, -4)" if sqlite else f"right({column}, 4)"
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column}"
        f" WHEN length({column}) < 8 THEN {_stars_sql(f'length({column})', sqlite)}"
        f" ELSE substr({column}, 1, 3) || '****' || {last_four} END"
    )


def masked_name_column(column: Any) -> Any:
    """`mask_name` over a polars text column (NULL and '' kept as they are)."""
    import polars as pl

    first = column.str.slice(0, 1).str.pad_end(pl.max_horizontal(2, column.str.len_chars()), "*")
    return pl.when(column == "").then(column).otherwise(first)


def masked_mobile_column(column: Any) -> Any:
    """`mask_mobile` over a polars text column (NULL and '' kept as they are)."""
    import polars as pl

    length = column.str.len_chars()
    return (
        pl.when(column == "")
        .then(column)
        .when(length < 8)
        .then(pl.lit("").str.pad_end(length, "*"))
        .otherwise(pl.concat_str([column.str.slice(0, 3), pl.lit("****"), column.str.slice(-4)]))
    )


def _stars_sql(count: str, sqlite: bool) -> str:
    """`count` (at least 1) stars in SQL: SQLite has no `repeat`, but its printf repeats a
    `%c` as many times as the precision says."""
    return f"printf('%.*c', {count}, '*')" if sqlite else f"repeat('*', {count})"
