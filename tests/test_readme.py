"""The README's "The job, step by step" runs as written, in order, on the sample data of a
fresh clone (WeCom answered by the fake server), and its examples name real files."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from fake_wecom import FakeWeCom, fake_wecom  # noqa: F401
from helpers import ROOT, query
from typer.testing import CliRunner

from reactivate.cli import app

README = (ROOT / "README.md").read_text(encoding="utf-8")


def step_by_step() -> list[list[str]]:
    """The command lines of the section's bash block, comments dropped."""
    section = README[README.index("## The job, step by step") :]
    block = section[section.index("```bash\n") + 8 :]
    block = block[: block.index("```")]
    lines = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [words for words in lines if words]


def test_the_steps_run_as_written_in_order(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    # a fresh clone: the repository's sample files, nothing made yet
    for folder in ("campaigns", "data"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("REACTIVATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "100")
    steps = step_by_step()
    assert steps[0] == ["source", ".venv/bin/activate"]  # says how the commands are found
    commands = steps[1:]
    assert all(words[0] == "reactivate" for words in commands)
    ran = []
    for words in commands:
        env = None
        if words[1] == "wecom":  # the settings the README's WeCom section names
            env = fake_wecom.env()
            database = f"sqlite:///{tmp_path / 'reactivate.db'}"
            for (userid,) in query(database, "SELECT wecom_userid FROM advisor"):
                if userid:
                    fake_wecom.add_advisor(str(userid))
        result = CliRunner().invoke(app, words[1:], env=env)
        assert result.exit_code == 0, f"{shlex.join(words)}\n{result.output}"
        ran.append(words[1])
    assert "report" in ran and ran[-1] == "campaign"
    for path in re.findall(r"\bdata/[\w.]+", "\n".join(map(shlex.join, commands))):
        assert (ROOT / path).is_file(), path  # e.g. the later export it names ships
    assert (tmp_path / "report.html").is_file() and (tmp_path / "who.csv").is_file()


def test_the_json_example_names_the_database_the_demo_writes() -> None:
    example = re.search(r"\(`(reactivate report [^`]*-f json[^`]*)`", README)
    assert example is not None
    words = shlex.split(example.group(1))
    db = words[words.index("--db") + 1]
    help_text = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    assert "Default: <out>/demo.db" in help_text and "out/demo" in help_text
    assert Path(db) == Path("out/demo") / "demo.db"


def test_shell_completion_as_the_readme_sets_it_up(tmp_path: Path) -> None:
    assert "_REACTIVATE_COMPLETE=source_bash reactivate" in README
    env = {**os.environ, "_REACTIVATE_COMPLETE": "source_bash"}
    command = [str(Path(sys.executable).parent / "reactivate")]  # the installed command
    script = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert "complete -o default -F" in script.stdout
    env.update(_REACTIVATE_COMPLETE="complete_bash", COMP_WORDS="reactivate rep", COMP_CWORD="1")
    words = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert words.stdout.split() == ["report"]
