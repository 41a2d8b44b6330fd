"""Ids that lost their leading zeros are not new clients, and a load that would swell a
campaign waits for confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CAMPAIGN_FILE, ROOT, query, scalar, statements_seen
from openpyxl import load_workbook
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.errors import ConfigError, NeedsConfirmation
from reactivate.load import MAX_UNCONFIRMED_GROWTH, LoadOptions, LoadSummary, load_accounts
from reactivate.sheets import values
from reactivate.sheets.values import MAX_ID_LENGTH

SLUG = "2020h2-dormant"
SAMPLE = ROOT / "data" / "dormant_accounts.xlsx"
ACCOUNTS_HEADER = "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力"


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--db", db])
    return result.exit_code, result.stdout


@pytest.fixture
def campaign(db_url: str) -> str:
    code, output = invoke(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    assert code == 0, output
    return db_url


def saved_as_numbers(tmp_path: Path) -> Path:
    """The sample accounts as Excel saves them when the id column is numbers."""
    workbook = load_workbook(SAMPLE)
    sheet = workbook.active
    assert sheet is not None
    for (cell,) in sheet.iter_rows(min_row=4, min_col=2, max_col=2):
        if isinstance(cell.value, str) and cell.value.isdigit():
            cell.value = int(cell.value)
    path = tmp_path / "numbers.xlsx"
    workbook.save(path)
    return path


def load(db: str, path: Path, **options: object) -> LoadSummary:
    engine = open_engine(db)
    try:
        return load_accounts(engine, SLUG, path, LoadOptions(**options))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_ids_saved_as_numbers_are_refused_with_the_mend(campaign: str, tmp_path: Path) -> None:
    code, output = invoke(campaign, "load", str(SAMPLE), "-c", SLUG, "-f", "json")
    assert code == 0, output
    clients = scalar(campaign, "SELECT COUNT(*) FROM client")
    assert clients == json.loads(output)["loaded"] == 392

    code, output = invoke(
        campaign, "load", str(saved_as_numbers(tmp_path)), "-c", SLUG, "-f", "json"
    )
    assert code == 1
    summary = json.loads(output)
    assert summary["loaded"] == 0 and summary["rejected"] == 392
    first = summary["errors"][0]
    assert (first["row"], first["column"]) == (4, "客户号")
    assert first["reason"] == (
        "21792650 looks like client 0021792650 with its leading zeros lost; --pad-ids 10 to fix"
    )
    assert scalar(campaign, "SELECT COUNT(*) FROM client") == clients
    last = query(campaign, "SELECT status FROM import_record ORDER BY id DESC")[0]
    assert last == ("refused",)


def test_pad_ids_mends_them(campaign: str, tmp_path: Path) -> None:
    assert load(campaign, SAMPLE).loaded == 392
    summary = load(campaign, saved_as_numbers(tmp_path), pad_ids=10)
    assert summary.applied and not summary.errors
    assert (summary.loaded, summary.updated + summary.unchanged) == (0, 392)
    assert scalar(campaign, "SELECT COUNT(*) FROM client") == 392


def account_lines(*ids: str) -> list[str]:
    """Accounts whose name and mobile follow from the id's number: 10000001 and
    0010000001 are spelled as the same client."""
    return [
        f"{cid},客户{int(cid)},138{int(cid) % 10**8:08d},上海浦东南路营业部,20000,2019-06-01,C3"
        for cid in ids
    ]


def accounts_csv(tmp_path: Path, name: str, *ids: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([ACCOUNTS_HEADER, *account_lines(*ids)]) + "\n", encoding="utf-8")
    return path


def test_an_id_of_the_file_short_of_another_ones_zeros_is_refused(
    campaign: str, tmp_path: Path
) -> None:
    path = accounts_csv(tmp_path, "a.csv", "0010000001", "10000001", "0010000002", "7")
    summary = load(campaign, path)
    assert [(e.row, e.reason) for e in summary.errors] == [
        (
            3,
            "10000001 looks like client 0010000001 with its leading zeros lost; --pad-ids 10 to fix",
        )
    ]
    assert summary.refused and scalar(campaign, "SELECT COUNT(*) FROM client") == 0
    # padded, the two rows are one client
    summary = load(campaign, path, pad_ids=10)
    assert summary.applied and (summary.loaded, summary.duplicates) == (3, 1)
    assert query(campaign, "SELECT client_id FROM client ORDER BY 1") == [
        ("0000000007",),
        ("0010000001",),
        ("0010000002",),
    ]


def test_an_id_already_known_as_it_is_is_not_refused(campaign: str, tmp_path: Path) -> None:
    assert load(campaign, accounts_csv(tmp_path, "a.csv", "0010000001", "10000001")).refused
    assert load(
        campaign, accounts_csv(tmp_path, "b.csv", "10000001", "10000002"), skip_invalid=True
    ).applied
    # 10000001 is a client now, as it is: loading it again is not a lost zero
    summary = load(campaign, accounts_csv(tmp_path, "c.csv", "0010000001", "10000001"))
    assert summary.applied and not summary.errors


def test_an_id_of_a_later_file_short_of_an_earlier_one_s_zeros_is_refused(
    campaign: str, tmp_path: Path
) -> None:
    """The rows of a load's second file have keys past 2**31 (the file's number above
    the row's), staged for the lookup as they are on PostgreSQL too."""
    folder = tmp_path / "branches"
    folder.mkdir()
    accounts_csv(folder, "a.csv", "0010000001")
    accounts_csv(folder, "b.csv", "10000001")
    summary = load(campaign, folder)
    assert [(Path(e.file).name, e.row, e.reason) for e in summary.errors] == [
        (
            "b.csv",
            2,
            "10000001 looks like client 0010000001 with its leading zeros lost; --pad-ids 10 to fix",
        )
    ]


@pytest.mark.parametrize("lookups", [values.PADDED_LOOKUPS, 0])
def test_an_id_short_of_a_width_only_the_database_has_is_refused(
    campaign: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookups: int
) -> None:
    """A file of a few ids has each looked up padded to every longer width, without
    reading the width of every client's id (a scan of them all); a bigger one (here, with
    no lookups allowed) pads to the widths that read finds. Either way an id short of a
    client's zeros at a width the file has no id of is refused."""
    monkeypatch.setattr(values, "PADDED_LOOKUPS", lookups)
    assert load(campaign, accounts_csv(tmp_path, "a.csv", "000010000001")).applied
    with statements_seen() as seen:
        summary = load(campaign, accounts_csv(tmp_path, "b.csv", "10000001", "10000002"))
    assert [(e.row, e.reason) for e in summary.errors] == [
        (
            2,
            "10000001 looks like client 000010000001 with its leading zeros lost;"
            " --pad-ids 12 to fix",
        )
    ]
    widths_read = [s for s in seen if "length(client.client_id)" in s]
    assert bool(widths_read) == (lookups == 0)


@pytest.mark.parametrize("width", [0, -1, MAX_ID_LENGTH + 1])
def test_pad_ids_must_be_a_width(campaign: str, tmp_path: Path, width: int) -> None:
    with pytest.raises(ConfigError, match="--pad-ids"):
        load(campaign, accounts_csv(tmp_path, "a.csv", "1"), pad_ids=width)


def ids(start: int, count: int) -> list[str]:
    return [f"{n:010d}" for n in range(start, start + count)]


def test_a_load_that_swells_the_campaign_waits_for_confirmation(
    campaign: str, tmp_path: Path
) -> None:
    assert load(campaign, accounts_csv(tmp_path, "first.csv", *ids(1, 10))).loaded == 10
    allowed = int(10 * MAX_UNCONFIRMED_GROWTH)
    # as many new members as allowed, and one more
    more = accounts_csv(tmp_path, "more.csv", *ids(1, 10), *ids(100, allowed + 1))
    with pytest.raises(NeedsConfirmation) as caught:
        load(campaign, more)
    assert str(caught.value) == (
        f"Nothing written: the load would add {allowed + 1} new clients to {SLUG}, which has 10 "
        f"(more than {MAX_UNCONFIRMED_GROWTH:.0%} more). Check the file is this campaign's and "
        "its ids kept their leading zeros, then load again with --yes."
    )
    summary = caught.value.summary
    assert (summary["needs_confirmation"], summary["members_before"]) == (True, 10)
    assert summary["loaded"] == allowed + 1
    assert scalar(campaign, "SELECT COUNT(*) FROM member") == 10
    statuses = query(campaign, "SELECT status FROM import_record ORDER BY id")
    assert statuses == [("applied",), ("refused",)]

    dry = load(campaign, more, dry_run=True)
    assert dry.needs_confirmation and dry.to_json()["needs_confirmation"] is True

    confirmed = load(campaign, more, confirm_new=True)
    assert confirmed.applied and confirmed.loaded == allowed + 1
    assert not confirmed.needs_confirmation and confirmed.confirmation() is None


def test_the_command_refuses_a_swelling_load_in_one_line(campaign: str, tmp_path: Path) -> None:
    code, output = invoke(
        campaign, "load", str(accounts_csv(tmp_path, "a.csv", *ids(1, 2))), "-c", SLUG
    )
    assert code == 0, output
    result = CliRunner().invoke(
        app,
        ["load", str(accounts_csv(tmp_path, "b.csv", *ids(10, 2))), "-c", SLUG, "--db", campaign],
    )
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and "--yes" in result.output
    assert "Traceback" not in result.output
    assert scalar(campaign, "SELECT COUNT(*) FROM member") == 2


def test_a_top_up_within_the_share_needs_no_confirmation(campaign: str, tmp_path: Path) -> None:
    assert load(campaign, accounts_csv(tmp_path, "first.csv", *ids(1, 10))).loaded == 10
    allowed = int(10 * MAX_UNCONFIRMED_GROWTH)
    summary = load(campaign, accounts_csv(tmp_path, "more.csv", *ids(100, allowed)))
    assert summary.applied and summary.loaded == allowed
    assert summary.to_json()["needs_confirmation"] is False
