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


def test_no_key_is_defined_twice() -> None:
    """A repeated key in a dict literal silently replaces the first text."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(messages.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict):
            keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
            repeated = {k for k in keys if keys.count(k) > 1}
            assert not repeated, f"{ast.unparse(node.target)}: {sorted(repeated)}"
