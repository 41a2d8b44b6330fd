"""`reactivate demo`: the README's first command runs the whole job on the sample data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from reactivate.cli import app


def test_demo_runs_the_whole_campaign_and_lands_near_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the demo reads campaigns/ and data/ like a user in the checkout
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
