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


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from reactivate.cli import app; "
        "heavy = [m for m in ('pandas', 'sqlalchemy', 'sqlmodel', 'openpyxl', 'httpx') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
