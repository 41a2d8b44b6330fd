"""`reactivate demo`: the README's first command runs the whole job on the sample data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.demo import run as demo_run
from reactivate.errors import ConfigError

SAMPLE = ROOT / "reactivate" / "demo" / "sample"


def test_demo_runs_the_whole_campaign_and_lands_near_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # any folder: the sample ships inside the package
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SIMULATED" in result.stdout  # simulated work is labelled as such
    assert "Uplift" in result.stdout
    workbooks = list((out / "workbooks").rglob("*.xlsx"))
    assert len(workbooks) == 11  # one per active advisor of the sample roster
    db = out / "demo.db"
    report = CliRunner().invoke(
        app, ["report", "-c", "2020h2-dormant", "--db", str(db), "--format", "json"]
    )
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    shares = {s["stage"]: s["of_assigned"] for s in data["stages"]}
    # the seeded simulation aims at the campaign's targets: 49% / 14% / 6.4% of assigned
    assert abs(shares["reached"] - 0.49) < 0.06
    assert abs(shares["wecom_added"] - 0.14) < 0.04
    assert abs(shares["converted"] - 0.064) < 0.03
    assert data["control"] > 0 and data["reactivation"]["uplift"] is not None
    imports = CliRunner().invoke(app, ["imports", "list", "--db", str(db), "--format", "json"])
    kinds = {i["kind"]: i["status"] for i in json.loads(imports.stdout)}
    assert kinds == {
        "roster": "applied",
        "dnc": "applied",
        "accounts": "applied",
        "results": "applied",
        "activity": "applied",
    }


def test_demo_refuses_a_database_that_is_not_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    db = tmp_path / "used.db"
    first = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "a"), "--db", str(db)])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "b"), "--db", str(db)])
    assert again.exit_code == 1 and "fresh database" in again.stderr


def test_the_shipped_sample_is_the_repositorys(tmp_path: Path) -> None:
    """The package's copy (what an installed demo reads) and campaigns/ and data/ (what the
    README and tests use) are the same files: scripts/make_sample_data.py writes both."""
    shipped = sorted(p.name for p in SAMPLE.iterdir() if p.is_file())
    assert shipped == [
        "2020h2-dormant.toml",
        "advisors.xlsx",
        "do_not_call.csv",
        "dormant_accounts.xlsx",
    ]
    for name in shipped:
        twin = ROOT / ("campaigns" if name.endswith(".toml") else "data") / name
        assert (SAMPLE / name).read_bytes() == twin.read_bytes(), name
    with demo_run.sample_inputs() as inputs:
        assert all(path.is_file() for path in vars(inputs).values())


def test_a_failed_demo_leaves_no_database_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ConfigError("the accounts could not be read")

    monkeypatch.setattr(demo_run, "load_accounts", broken)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 1 and "could not be read" in result.stderr
    assert not list((tmp_path / "out" / "demo").glob("demo.db*"))
    named = tmp_path / "mine.db"
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"), "--db", str(named)])
    assert result.exit_code == 1
    assert not list(tmp_path.glob("mine.db*"))
    # a fresh run afterwards is not refused as "not fresh"
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    again = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"), "--db", str(named)])
    assert again.exit_code == 0, again.output
