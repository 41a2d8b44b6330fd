"""The English words of our own labels, and a check that a Chinese text holds none of
them (tests/test_language.py checks the catalogs, tests/test_chinese_outputs.py what
every command shows and writes)."""

from __future__ import annotations

import re

from typer.main import get_command

from reactivate import messages
from reactivate.cli import app
from reactivate.rules import funnel

#: Message keys whose English texts are our labels: their words must not be left in Chinese.
LABEL_KEYS = re.compile(
    r"^(label|column|value|setting|report\.(col|stage|by|key|name)|client\.col|wecom\.col_"
    r"|usage\.(type|usage|options|commands|arguments|required|default|envvar|error|help_option))"
)


def label_words() -> set[str]:
    """The English words of our labels ("clients", "advisor", "Usage", ...)."""
    english = messages.catalog("en")
    words: set[str] = set()
    for key, text in english.items():
        if LABEL_KEYS.match(key):
            words |= {w.lower() for w in re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w*\}", "", text))}
    return words


def typed_words() -> set[str]:
    """Words a Chinese text may still hold because the user types them: command names,
    the values of every option with choices, stage and call-result ids."""
    words = {*funnel.DISPOSITIONS, *funnel.STAGES}
    stack = [get_command(app)]
    while stack:
        command = stack.pop()
        words.add(command.name or "")
        stack.extend(getattr(command, "commands", {}).values())
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and descriptor.is_choice:
                words |= {str(getattr(c, "value", c)) for c in descriptor.choices or ()}
    return {w.lower() for word in words for w in re.findall(r"[A-Za-z]{3,}", word)}


def english_left(text: str, words: set[str]) -> set[str]:
    """The label words in `text`, outside what is code: {fields}, --options, `commands`,
    command lines, paths and file names, identifiers with underscores, PLACEHOLDERS."""
    code = r"\{\w*\}|`[^`]*`|reactivate [^\n]*|--[\w-]+|\S*[/\\]\S*|\S+\.\w+|\w*_\w*|\b[A-Z]+\b"
    text = re.sub(code, " ", text)
    return {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in words}
