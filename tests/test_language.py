"""The user's language: how it is chosen, and that Chinese is complete.

Every message key has a Chinese text that is not the English one and holds none of the
English words our own labels use; every command's help and typer's own words (usage,
usage errors) follow the language. `tests/test_chinese_outputs.py` renders every output.
"""

from __future__ import annotations

import re

import pytest
from english_words import english_left, label_words, typed_words
from typer.main import get_command
from typer.testing import CliRunner

from reactivate import messages
from reactivate.cli import app
from reactivate.cli.language import take_lang, translate
from reactivate.sheets.fields import ACCOUNT_FIELDS

#: Keys whose Chinese may equal the English: symbols, not words.
SAME_IN_BOTH = {"client.col.id", "usage.gap"}  # "#"; "" (Chinese runs sentences together)
#: Words a key's Chinese may hold because the user types them there.
TYPED_IN = {
    "help.load.map": {f.name for f in ACCOUNT_FIELDS},
    "campaign.product_table": {"code", "name", "risk"},  # a campaign file's keys
    "campaign.boolean": {"true", "false"},  # and TOML's words
}


def test_every_key_has_a_chinese_text_of_its_own() -> None:
    english, chinese = messages.catalog("en"), messages.catalog("zh")
    assert english.keys() == chinese.keys(), english.keys() ^ chinese.keys()
    words = label_words() - typed_words()
    assert {"clients", "stage", "usage", "options", "members"} <= words  # the list is real
    problems = {}
    for key, text in chinese.items():
        if not text.strip() and key not in SAME_IN_BOTH:
            problems[key] = "empty"
        elif text == english[key] and key not in SAME_IN_BOTH:
            problems[key] = "same as English"
        elif left := english_left(text, words - TYPED_IN.get(key, set())):
            problems[key] = f"English left: {sorted(left)}"
        elif set(re.findall(r"\{\w*\}", text)) != set(re.findall(r"\{\w*\}", english[key])):
            problems[key] = "fields differ from the English"
    assert not problems, problems


def test_chinese_texts_have_chinese_punctuation() -> None:
    """`，：；（）` where punctuation touches Chinese; scripts/zh_punctuation.py fixes a
    catalog that fails."""
    touching = re.compile(r"[\u4e00-\u9fff][,:;?!()]|[,:;?!()][\u4e00-\u9fff]")
    wrong = {k: v for k, v in messages.catalog("zh").items() if touching.search(v)}
    assert not wrong, wrong


def test_the_check_finds_english_left() -> None:
    words = label_words()
    assert english_left("第10行 clients 未变", words) == {"clients"}
    assert english_left("用 --by advisor 或 `reactivate report` 查看 data/x.csv", words) == {
        "advisor"
    }


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL rules over LANG
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "REACTIVATE_LANG": "en"}, "en"),
        ({"LANG": "en_US.UTF-8", "REACTIVATE_LANG": "zh"}, "zh"),
        ({"LANG": "en_US.UTF-8", "REACTIVATE_LANG": "zh_CN"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "REACTIVATE_LANG": "fr"}, "zh"),  # not ours: the locale rules
        ({}, "en"),
    ],
)
def test_language_follows_the_locale_unless_overridden(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    for name in ("REACTIVATE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert messages.language() == expected
    with messages.speaking("en" if expected == "zh" else "zh"):  # --lang rules over all
        assert messages.language() != expected
    assert messages.language() == expected


def test_lang_is_taken_from_anywhere_before_the_separator() -> None:
    assert take_lang(["report", "-c", "x", "--lang", "zh"]) == (["report", "-c", "x"], "zh")
    assert take_lang(["--lang=EN", "load", "f.xlsx"]) == (["load", "f.xlsx"], "en")
    assert take_lang(["--lang", "fr", "report"]) == (["--lang", "fr", "report"], None)
    assert take_lang(["x", "--", "--lang", "zh"]) == (["x", "--", "--lang", "zh"], None)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


ENGLISH_OF_TYPER = ("Usage", "Options", "Missing", "Invalid", "No such", "Try ", "Error")


@pytest.mark.parametrize(
    ("args", "chinese"),
    [
        (["report"], "缺少选项 '--campaign' / '-c'"),
        (["nosuch"], "没有命令“nosuch”"),
        (["reprot"], "没有命令“reprot”。是否想用“report”？"),
        (["report", "-c", "x", "--by", "foo"], "'--by' 的值无效：'foo' 不是可选值之一"),
        (["report", "-c", "x", "--stale-days", "abc"], "'--stale-days' 的值无效：'abc' 不是整数"),
        (["load", "--bogus"], "没有选项 --bogus"),
        (["load"], "缺少参数 'files'"),
        (["results", "undo", "1", "2"], "多余的参数：2。"),
        (["report", "--campain", "x"], "没有选项 --campain。是否想用：--campaign？"),
        (["report", "-c"], "选项“-c”需要一个值。"),
        (["report", "-c", "x", "--since", "2020-99-01"], "“2020-99-01”不是日期"),
    ],
)
def test_usage_errors_speak_chinese(args: list[str], chinese: str) -> None:
    code, output = run("--lang", "zh", *args)
    assert code == 2, output
    assert chinese in output
    assert not [w for w in ENGLISH_OF_TYPER if w in output], output


def test_usage_errors_stay_english_in_english() -> None:
    code, output = run("report")
    assert code == 2 and "Missing option '--campaign'" in output and "Usage:" in output


def test_the_locale_alone_gives_chinese_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACTIVATE_LANG")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, output = run("report", "--help")
    assert code == 0, output
    assert "用法：reactivate report [选项]" in output and "示例：reactivate report" in output
    assert "显示本帮助并退出" in output and "[默认：7]" in output and "<整数>" in output
    assert not [w for w in ENGLISH_OF_TYPER if w in output], output
    code, output = run("--lang", "en", "report", "--help")  # and --lang overrides it
    assert "Usage: reactivate report [OPTIONS]" in output and "Example: reactivate" in output


@pytest.mark.parametrize("args", [[], ["results"], ["wecom", "--help"]])
def test_help_without_a_command_speaks_chinese(args: list[str]) -> None:
    _code, output = run("--lang", "zh", *args)
    assert "用法：reactivate" in output and "选项" in output and "命令" in output
    assert not [w for w in ENGLISH_OF_TYPER if w in output], output


def test_an_unknown_language_is_refused() -> None:
    code, output = run("--lang", "fr", "report")
    assert code == 2 and "'fr' is not one of 'zh', 'en'" in output


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_command_and_group_help_is_a_key(lang: str) -> None:
    root = get_command(app)
    with messages.speaking(lang):
        translate(root)  # type: ignore[arg-type]
    stack = [root]
    while stack:
        command = stack.pop()
        stack.extend(getattr(command, "commands", {}).values())
        assert "help" in command.__dict__.get("_message_keys", {}), command.name
        assert command.help and not messages.has(command.help), command.name
