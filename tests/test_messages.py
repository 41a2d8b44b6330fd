"""User-facing text: both languages complete, and the language switch works."""

from __future__ import annotations

import pytest

from reactivate import messages


def test_both_languages_have_every_key() -> None:
    catalogs = messages.keys()
    assert catalogs["en"] == catalogs["zh"], catalogs["en"] ^ catalogs["zh"]


def test_language_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTIVATE_LANG", "zh")
    assert messages.t("label.clients") == "客户"
    monkeypatch.setenv("REACTIVATE_LANG", "en")
    assert messages.t("label.clients") == "clients"
    monkeypatch.delenv("REACTIVATE_LANG")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert messages.language() == "zh"
