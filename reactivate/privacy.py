"""Masking of personal data for everything that is not the assigned advisor's own file."""

from __future__ import annotations


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
