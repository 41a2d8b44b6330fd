"""Every command explains itself in both languages: a summary with an example, a help text
on every option and argument, each a message key."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.cli.language import translate
from reactivate.messages import speaking

EXAMPLE = {"en": "Example: reactivate ", "zh": "示例：reactivate "}


def _commands(group: typer.core.TyperGroup, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.extend(_commands(command, f"{prefix}{name} "))  # type: ignore[arg-type]
        else:
            found.append((prefix + name, command))
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_command_has_an_example_and_every_option_a_help(lang: str) -> None:
    root = get_command(app)
    with speaking(lang):
        translate(root)  # type: ignore[arg-type]
    commands = _commands(root)  # type: ignore[arg-type]
    assert len(commands) >= 8
    for name, command in commands:
        doc = command.help or ""  # type: ignore[attr-defined]
        assert EXAMPLE[lang] in doc, f"{name}: no example in its help"
        assert "help" in command._message_keys, f"{name}: its help is not a message key"  # type: ignore[attr-defined]
        for param in command.params:  # type: ignore[attr-defined]
            assert param.help, f"{name}: {param.param_type_name} {param.name} has no help"
            assert "help" in param._message_keys, f"{name}: {param.name}'s help is no key"


def test_help_runs() -> None:
    result = CliRunner().invoke(app, ["load", "--help"])
    assert result.exit_code == 0, result.output
    assert "--skip-invalid" in result.output


#: What `reactivate --help` must not import: each costs a noticeable part of a second (or
#: drags in one that does), and a command imports them only when it runs.
HEAVY = (
    "polars",
    "fastexcel",
    "python_calamine",
    "xlsxwriter",
    "openpyxl",
    "adbc_driver_sqlite",
    "psycopg",
    "sqlalchemy",
    "sqlmodel",
    "httpx",
)


def test_help_does_not_import_heavy_libraries() -> None:
    # A fresh interpreter, as `reactivate --help` starts: the root help, then a command's.
    code = (
        "import sys\n"
        "from reactivate.cli import main\n"
        "for argv in (['--help'], ['load', '--help'], ['results', 'upload', '--help']):\n"
        "    sys.argv = ['reactivate', *argv]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: reactivate results upload" in out.stdout
    assert out.stderr.strip() == ""
