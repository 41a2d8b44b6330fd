"""User-facing text in one place, in English and Chinese.

`t("key", **fields)` returns the text in the user's language: the global `--lang` option
(`speaking`), else `REACTIVATE_LANG` (`en` or `zh`), else the locale (`LC_ALL`, then
`LC_MESSAGES`, then `LANG`, the first that is set: Chinese when it starts with `zh`), else
English. The texts live in `en.py` and `zh.py`, by key, grouped by where they appear; add
both languages for every new key. Help texts of the command line are keys too (`help.*`),
translated when the command line runs (`reactivate.cli.language`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from reactivate.messages import en, zh

_EN = en.TEXTS
_CATALOGS = {"en": en.TEXTS, "zh": zh.TEXTS}
LANGUAGES = tuple(_CATALOGS)

#: The language `--lang` chose for this run. Process-wide, not a context variable: upload
#: checks rows in worker threads, and their rejection reasons must speak it too.
_chosen: str | None = None


def language() -> str:
    """The user's language: `--lang`, else `REACTIVATE_LANG`, else the locale, else `en`."""
    if _chosen is not None:
        return _chosen
    chosen = os.environ.get("REACTIVATE_LANG", "").lower()[:2]  # zh, zh_CN, zh-Hans, en_US
    if chosen in _CATALOGS:
        return chosen
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):  # POSIX order: the first set one rules
        value = os.environ.get(variable, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Speak `lang` (`en` or `zh`) inside the block; None leaves the choice to the
    environment."""
    global _chosen
    before = _chosen
    _chosen = lang if lang is None else lang.lower()
    try:
        yield
    finally:
        _chosen = before


def t(key: str, /, **fields: object) -> str:
    """The text for `key` in the user's language, with `fields` filled in."""
    catalog = _CATALOGS[language()]
    text = catalog[key] if key in catalog else _EN[key]
    return text.format(**fields) if fields else text


def label(kind: str, value: str) -> str:
    """`value` (a stage, a breakdown) in the user's words: the text of `KIND.VALUE`, or the
    value itself when there is none."""
    key = f"{kind}.{value}"
    return t(key) if key in _EN else value


def os_problem(exc: OSError) -> str:
    """What the operating system refused, in the user's words (its own English for the
    rarer errors)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    key = f"os.{name}"
    return t(key) if key in _EN else str(exc.strerror or exc)


def has(key: str) -> bool:
    """Whether `key` is a message key (help texts are keys; literal text is not)."""
    return key in _EN


def catalog(lang: str) -> dict[str, str]:
    """Every text of `lang`, by key (for tests that read them all)."""
    return dict(_CATALOGS[lang])


def keys() -> dict[str, set[str]]:
    """The keys of each catalog (for the test that both languages are complete)."""
    return {lang: set(catalog) for lang, catalog in _CATALOGS.items()}
