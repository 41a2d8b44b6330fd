"""Every command explains itself: a docstring with an example, a help text on every option."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.main import get_command
from typer.testing import CliRunner

from reactivate.cli import app


def _commands(group: typer.core.TyperGroup, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.extend(_commands(command, f"{prefix}{name} "))  # type: ignore[arg-type]
        else:
            found.append((prefix + name, command))
    return found


def test_every_command_has_an_example_and_every_option_a_help() -> None:
    root = get_command(app)
    commands = _commands(root)  # type: ignore[arg-type]
    assert len(commands) >= 8
    for name, command in commands:
        doc = command.help or ""  # type: ignore[attr-defined]
        assert "Example: reactivate " in doc, f"{name}: no example in its help"
        for param in command.params:  # type: ignore[attr-defined]
            if param.param_type_name == "option":
                assert param.help, f"{name}: option {param.name} has no help"


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
