"""User-facing text in one place, in English and Chinese.

`t("key", **fields)` returns the text in the user's language: `REACTIVATE_LANG`
(`en` or `zh`), else Chinese when `LANG` starts with `zh`, else English.
The texts live in `en.py` and `zh.py`, by key, grouped by where they appear; add both
languages for every new key.
"""

from __future__ import annotations

import os

from reactivate.messages import en, zh

_EN = en.TEXTS
_CATALOGS = {"en": en.TEXTS, "zh": zh.TEXTS}


def language() -> str:
    """The user's language: `REACTIVATE_LANG`, else `zh` when `LANG` is Chinese, else `en`."""
    chosen = os.environ.get("REACTIVATE_LANG", "").lower()
    if chosen in _CATALOGS:
        return chosen
    return "zh" if os.environ.get("LANG", "").lower().startswith("zh") else "en"


def t(key: str, /, **fields: object) -> str:
    """The text for `key` in the user's language, with `fields` filled in."""
    text = _CATALOGS[language()].get(key) or _EN[key]
    return text.format(**fields) if fields else text


def keys() -> dict[str, set[str]]:
    """The keys of each catalog (for the test that both languages are complete)."""
    return {lang: set(catalog) for lang, catalog in _CATALOGS.items()}
