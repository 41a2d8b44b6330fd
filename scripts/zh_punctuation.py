"""Give the Chinese catalog Chinese punctuation: `，：；？！（）` where an ASCII `,:;?!()`
touches Chinese text. Usage: .venv/bin/python scripts/zh_punctuation.py

Rewrites the string values of reactivate/messages/zh.py in place (keys, placeholders,
times such as 09:00, URLs and code between Latin characters stay as they are);
tests/test_language.py fails on a text this would change.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "reactivate" / "messages" / "zh.py"
#: Chinese characters, and the Chinese punctuation and quotes that sit among them.
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef“”‘’「」…]")
FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}


def chinese(char: str) -> bool:
    return bool(char) and CJK.match(char) is not None


def punctuate(text: str) -> str:
    """`text` with ASCII punctuation that touches Chinese made full-width (looking past a
    {placeholder} to the text beside it), until nothing more changes."""
    while True:
        fixed = _pass(text)
        if fixed == text:
            return text
        text = fixed


def _neighbours(chars: list[str], start: int, end: int) -> tuple[str, str]:
    """The characters before `start` and after `end`, past any {placeholder}."""
    before, after = start - 1, end + 1
    if before >= 0 and chars[before] == "}":
        while before >= 0 and chars[before] != "{":
            before -= 1
        before -= 1
    if after < len(chars) and chars[after] == "{":
        while after < len(chars) and chars[after] != "}":
            after += 1
        after += 1
    return (
        chars[before] if before >= 0 else "",
        chars[after] if after < len(chars) else "",
    )


def _pass(text: str) -> str:
    chars = list(text)
    for i, char in enumerate(chars):
        if char in FULL and any(chinese(c) for c in _neighbours(chars, i, i)):
            chars[i] = FULL[char]
    opened: list[int] = []
    for i, char in enumerate(chars):
        if char == "(":
            opened.append(i)
        elif char == ")" and opened:
            start = opened.pop()
            outside = _neighbours(chars, start, i)
            inside = (chars[start + 1], chars[i - 1]) if i - start > 1 else ()
            if any(chinese(c) for c in (*outside, *inside)):
                chars[start], chars[i] = "（", "）"
    return "".join(chars)


def rewrite(source: str) -> str:
    """`source` (the catalog module) with every value string punctuated."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for index, token in enumerate(significant):
        if token.type != tokenize.STRING or index == 0:  # the docstring
            continue
        following = significant[index + 1] if index + 1 < len(significant) else None
        if following is not None and following.string == ":":  # a key
            continue
        value = eval(token.string)  # a literal from our own catalog
        fixed = punctuate(value)
        if fixed != value:
            edits.append((token.start, token.end, json.dumps(fixed, ensure_ascii=False)))
    for (row, col), (end_row, end_col), text in reversed(edits):
        assert row == end_row, "a value spans lines"
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end_col:]
    return "".join(lines)


if __name__ == "__main__":
    before = CATALOG.read_text(encoding="utf-8")
    after = rewrite(before)
    CATALOG.write_text(after, encoding="utf-8")
    changed = sum(a != b for a, b in zip(before.splitlines(), after.splitlines(), strict=True))
    print(f"{CATALOG.name}: {changed} lines given Chinese punctuation")
