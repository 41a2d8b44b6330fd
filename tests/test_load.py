"""`reactivate load` end to end on SQLite and PostgreSQL: every rule gives the counts it should."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import CAMPAIGN_FILE, query, record_call, scalar
from sqlalchemy import text
from typer.testing import CliRunner

from reactivate import registry
from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.errors import InputError
from reactivate.load import LoadOptions, load_accounts
from reactivate.sheets import frames
from reactivate.sheets.fields import ACCOUNT_FIELDS
from reactivate.sheets.frames import open_frames

ROSTER = """工号,姓名,营业部,营业部代码,企业微信账号,容量,状态
A001,王芳,上海浦东南路营业部,0101,wangfang,300,在职
A002,李强,上海浦东南路营业部,0101,liqiang,300,在职
B001,张伟,北京金融街营业部,0201,zhangwei,200,离职
"""

HEADER = (
    "序号,客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,"
    "风险承受能力,开户日期,原客户经理,账户状态,渠道"
)

# as_of 2020-06-30, min 180 days: last trade on or before 2020-01-02 is dormant
GOOD_ROWS = [
    '1,0010000001,张三,13800000001,上海浦东南路营业部,"12,345.67",2019-12-01,C3-稳健型,2015-03-01,A001,正常,网上',
    "2,0010000002,李四,+86 138-0000-0002,上海 浦东南路营业部,5000,2019/6/5,保守型,2016/1/1,王芳,正常,",
    "3,0010000003,王五,13800000003,北京金融街营业部,800000,20180105,C5,20100101,,正常,",
    "4,0010000004,赵六,13800000004,杭州西湖营业部,100,,C2,,,正常,",  # never traded; unknown branch
]


def cli(db: str, *args: str) -> object:
    result = CliRunner().invoke(app, [*args, "--db", db])
    return result


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> str:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    for args in (["campaign", "add", str(CAMPAIGN_FILE)], ["advisors", "load", str(roster)]):
        result = CliRunner().invoke(app, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
    return db_url


def write_csv(
    tmp_path: Path, rows: list[str], name: str = "accounts.csv", encoding: str = "utf-8-sig"
) -> Path:
    path = tmp_path / name
    path.write_text("休眠客户清单\n\n" + HEADER + "\n" + "\n".join(rows) + "\n", encoding=encoding)
    return path


def load_json(db: str, path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        app,
        ["load", str(path), "--campaign", "2020h2-dormant", "--format", "json", "--db", db, *extra],
    )
    return result.exit_code, json.loads(result.stdout)


def test_messy_export_loads_with_normalised_values(db: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, [*GOOD_ROWS, ",,,,,,,,,,,", "合计,,,,,,,,,,,", ',合计,,,"1,234.00",,,,,,,']
    )
    code, summary = load_json(db, path)
    assert code == 0, summary
    assert summary["rows"] == 4 and summary["loaded"] == 4 and summary["rejected"] == 0
    assert summary["unknown_branches"] == {"杭州西湖营业部": 1}
    engine = open_engine(db)
    with engine.connect() as conn:
        rows = {
            r.client_id: r for r in conn.execute(text("SELECT * FROM client ORDER BY client_id"))
        }
    engine.dispose()
    first, second = rows["0010000001"], rows["0010000002"]
    assert first.mobile == "13800000001" and first.assets == 12345.67 and first.risk == 3
    assert str(first.last_trade_date) == "2019-12-01" and first.previous_advisor == "A001"
    assert json.loads(first.extra) == {"渠道": "网上"}
    assert second.mobile == "13800000002" and second.risk == 1
    assert second.branch == "上海浦东南路营业部"  # spaces normalised onto the roster's name
    assert second.previous_advisor == "A001"  # by unique roster name
    assert str(rows["0010000003"].last_trade_date) == "2018-01-05"
    assert rows["0010000004"].last_trade_date is None


def test_dormancy_rule_and_closed_accounts_are_excluded(db: str, tmp_path: Path) -> None:
    rows = [
        *GOOD_ROWS,
        "5,0010000005,钱七,13800000005,上海浦东南路营业部,1000,2020-06-01,C3,2015-01-01,,正常,",
        "6,0010000006,孙八,13800000006,上海浦东南路营业部,1000,2020-01-02,C3,2015-01-01,,正常,",
        "7,0010000007,周九,13800000007,上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,冻结,",
        "8,0010000008,吴十,13800000008,上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,销户,",
    ]
    code, summary = load_json(db, write_csv(tmp_path, rows))
    assert code == 0
    # 2020-01-02 is exactly 180 days before 2020-06-30: dormant
    assert summary["loaded"] == 5 and summary["excluded"] == 3
    assert summary["excluded_reasons"] == {"traded_recently": 1, "frozen_or_closed": 2}
    assert scalar(db, "SELECT count(*) FROM member") == 5


BAD_ROWS = [
    "9,,无号,13800000009,上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,正常,",  # no id
    "10,0010000010,错号,1380000,上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,正常,",  # bad mobile
    "11,0010000011,坏日,13800000011,上海浦东南路营业部,1000,2019-02-30,C3,2015-01-01,,正常,",  # no such date
    "12,0010000012,无机,,上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,正常,",  # no mobile
]


def test_one_bad_row_writes_nothing_and_every_error_is_reported(db: str, tmp_path: Path) -> None:
    code, summary = load_json(db, write_csv(tmp_path, GOOD_ROWS + BAD_ROWS))
    assert code == 1
    assert summary["rejected"] == 4 and summary["rows"] == 8
    errors = summary["errors"]
    assert isinstance(errors, list)
    # title, blank, header: the k-th data row is row k + 3 as Excel shows it
    assert [(e["row"], e["column"]) for e in errors] == [
        (8, "客户号"),
        (9, "手机号码"),
        (10, "最后交易日期"),
        (11, "手机号码"),
    ]
    assert "2019-02-30" in errors[2]["reason"]
    assert scalar(db, "SELECT count(*) FROM member") == 0
    assert scalar(db, "SELECT status FROM import_record WHERE kind = 'accounts'") == "refused"


def test_error_line_on_stderr_names_file_row_and_column(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["load", str(write_csv(tmp_path, BAD_ROWS[1:2])), "-c", "2020h2-dormant", "--db", db]
    )
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "row 4" in result.stderr and "手机号码" in result.stderr
    assert "Traceback" not in result.output


def test_square_brackets_in_values_and_names_are_printed_as_they_are(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Rich would read '[old]' as markup and print nothing of it
    added = CliRunner().invoke(app, ["campaign", "add", str(CAMPAIGN_FILE), "--db", sqlite_url])
    assert added.exit_code == 0
    row = GOOD_ROWS[0].replace("2019-12-01", "[old]")
    path = write_csv(tmp_path, [row], name="[2020]accounts.csv")
    result = CliRunner().invoke(
        app, ["load", str(path), "-c", "2020h2-dormant", "--db", sqlite_url]
    )
    assert result.exit_code == 1
    stderr = " ".join(result.stderr.split())  # the console wraps long lines
    assert "'[old]' is not a date" in stderr
    assert "[2020]accounts.csv, row 4" in stderr


def test_skip_invalid_loads_good_rows_and_writes_rejects(db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS + BAD_ROWS)
    code, summary = load_json(db, path, "--skip-invalid")
    assert code == 0 and summary["loaded"] == 4 and summary["rejected"] == 4
    rejects = Path(str(summary["rejects_file"]))
    assert rejects == tmp_path / "accounts.csv.rejects.csv"
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert len(lines) == 5 and "无号" in lines[1] and "0010000010" in lines[2]
    assert scalar(db, "SELECT count(*) FROM member") == 4


def test_duplicates_count_once_and_conflicts_reject_both(db: str, tmp_path: Path) -> None:
    same = GOOD_ROWS[0].replace("1,", "5,", 1)  # same id, same values (row number column ignored)
    different = GOOD_ROWS[1].replace("李四", "李斯")
    code, summary = load_json(
        db, write_csv(tmp_path, [*GOOD_ROWS, same, different]), "--skip-invalid"
    )
    assert code == 0
    assert summary["duplicates"] == 1 and summary["rejected"] == 2 and summary["loaded"] == 3
    assert (
        summary["rows"]
        == 6
        == sum(
            int(summary[k])
            for k in ("loaded", "updated", "unchanged", "excluded", "rejected", "duplicates")  # type: ignore[call-overload]
        )
    )


def test_reload_changes_nothing_and_update_keeps_history(db: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS)
    assert load_json(db, path)[1]["loaded"] == 4
    code, again = load_json(db, path)
    assert code == 0 and again["loaded"] == 0 and again["unchanged"] == 4 and again["updated"] == 0
    record_call(db, "0010000001")
    changed = write_csv(
        tmp_path, [GOOD_ROWS[0].replace("12,345.67", "99,999.00"), *GOOD_ROWS[1:]], "later.csv"
    )
    code, later = load_json(db, changed)
    assert later["updated"] == 1 and later["unchanged"] == 3
    assert scalar(db, "SELECT assets FROM client WHERE client_id = '0010000001'") == 99999.0
    assert scalar(db, "SELECT count(*) FROM event") == 1
    assert scalar(db, "SELECT count(*) FROM import_record WHERE kind = 'accounts'") == 3


def test_dry_run_counts_but_writes_nothing(db: str, tmp_path: Path) -> None:
    code, summary = load_json(db, write_csv(tmp_path, GOOD_ROWS), "--dry-run")
    assert code == 0 and summary["loaded"] == 4
    assert scalar(db, "SELECT count(*) FROM member") == 0
    assert scalar(db, "SELECT count(*) FROM import_record WHERE kind = 'accounts'") == 0


def test_gb18030_csv(db: str, tmp_path: Path) -> None:
    code, summary = load_json(db, write_csv(tmp_path, GOOD_ROWS, encoding="gb18030"))
    assert code == 0 and summary["loaded"] == 4
    assert scalar(db, "SELECT name FROM client WHERE client_id = '0010000003'") == "王五"


def test_overlap_with_another_open_campaign(db: str, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        CAMPAIGN_FILE.read_text(encoding="utf-8").replace(
            'slug = "2020h2-dormant"', 'slug = "other"'
        ),
        encoding="utf-8",
    )
    assert cli(db, "campaign", "add", str(other)).exit_code == 0  # type: ignore[attr-defined]
    path = write_csv(tmp_path, GOOD_ROWS)
    result = CliRunner().invoke(app, ["load", str(path), "-c", "other", "--db", db])
    assert result.exit_code == 0, result.output
    code, summary = load_json(db, path)
    assert summary["overlap"] == 4 and summary["excluded"] == 4 and summary["loaded"] == 0
    code, summary = load_json(db, path, "--allow-overlap")
    assert summary["loaded"] == 4


def test_do_not_call_clients_join_flagged(db: str, tmp_path: Path) -> None:
    dnc = tmp_path / "dnc.csv"
    dnc.write_text(
        "客户号,手机号,原因\n0010000001,,客户要求\n,13800000003,投诉\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["dnc", "load", str(dnc), "--db", db])
    assert result.exit_code == 0, result.output
    code, summary = load_json(db, write_csv(tmp_path, GOOD_ROWS))
    assert summary["dnc_members"] == 2
    assert scalar(db, "SELECT count(*) FROM member WHERE dnc") == 2


def test_branch_alias_moves_clients(db: str, tmp_path: Path) -> None:
    load_json(db, write_csv(tmp_path, GOOD_ROWS))
    result = CliRunner().invoke(
        app, ["branches", "alias", "杭州 西湖营业部", "北京金融街营业部", "--db", db]
    )
    assert result.exit_code == 0, result.output
    assert "1 clients moved" in result.output
    assert scalar(db, "SELECT count(*) FROM client WHERE branch = '北京金融街营业部'") == 2


def test_unknown_campaign_and_missing_file(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["load", str(tmp_path / "none.csv"), "-c", "2020h2-dormant", "--db", db]
    )
    assert result.exit_code == 1 and "no such file" in result.stderr
    path = write_csv(tmp_path, GOOD_ROWS)
    result = CliRunner().invoke(app, ["load", str(path), "-c", "nope", "--db", db])
    assert result.exit_code == 1 and "No campaign 'nope'" in result.stderr


def test_rejects_that_cannot_be_written_apply_nothing(db_url: str, tmp_path: Path) -> None:
    """--skip-invalid writes the rejects before the commit: an unwritable place applies nothing."""
    runner = CliRunner()
    assert (
        runner.invoke(app, ["campaign", "add", str(CAMPAIGN_FILE), "--db", db_url]).exit_code == 0
    )
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力\n"
        "0010000001,张三,13800000001,上海浦东南路营业部,20000,2019-06-01,C3\n"
        "0010000002,李四,123,上海浦东南路营业部,20000,2019-06-01,C3\n",
        encoding="utf-8",
    )
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the rejects' folder should be")
    result = runner.invoke(
        app,
        ["load", str(accounts), "-c", "2020h2-dormant", "--skip-invalid",
         "--rejects", str(blocked / "rejects.csv"), "--db", db_url],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "Cannot write the rejects file" in said and "nothing was applied" in said
    assert scalar(db_url, "SELECT COUNT(*) FROM member") == 0


# ---------------------------------------------------------------- several files, batches


def csv_as_xlsx(path: Path) -> Path:
    """The CSV file's cells, all text, in a workbook beside it."""
    import xlsxwriter

    xlsx = path.with_suffix(".xlsx")
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    book = xlsxwriter.Workbook(str(xlsx))
    sheet = book.add_worksheet("客户")
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            if cell:
                sheet.write_string(r, c, cell)
    book.close()
    return xlsx


def load_files_json(db: str, paths: list[Path], *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["load", *map(str, paths), "--campaign", "2020h2-dormant", "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--db", db, *extra])
    return result.exit_code, json.loads(result.stdout)


def test_a_folder_of_files_is_one_load_tied_to_each_file(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "branches"
    folder.mkdir()
    write_csv(folder, GOOD_ROWS[:2], "shanghai.csv")
    write_csv(folder, GOOD_ROWS[2:], "beijing.csv")
    (folder / "notes.txt").write_text("not a spreadsheet", encoding="utf-8")
    code, summary = load_files_json(db, [folder])
    assert code == 0, summary
    assert summary["files"] == [str(folder / "beijing.csv"), str(folder / "shanghai.csv")]
    assert summary["rows"] == 4 and summary["loaded"] == 4
    # each member points at the record of the file it came from
    tied = query(
        db,
        """SELECT m.client_id, i.file_name, i.rows FROM member m
           JOIN import_record i ON i.id = m.import_id ORDER BY m.client_id""",
    )
    assert [(client, Path(name).name, rows) for client, name, rows in tied] == [
        ("0010000001", "shanghai.csv", 2),
        ("0010000002", "shanghai.csv", 2),
        ("0010000003", "beijing.csv", 2),
        ("0010000004", "beijing.csv", 2),
    ]
    # each record holds its own file's digest (worked out beside the read)
    digests = query(db, "SELECT file_name, sha256 FROM import_record WHERE kind = 'accounts'")
    assert {name: digest for name, digest in digests} == {
        str(file): hashlib.sha256(file.read_bytes()).hexdigest()
        for file in (folder / "beijing.csv", folder / "shanghai.csv")
    }
    code, again = load_files_json(db, [folder])
    assert code == 0 and again["unchanged"] == 4 and again["loaded"] == 0


def test_a_client_in_two_files_counts_once_and_a_conflict_names_the_other_file(
    db: str, tmp_path: Path
) -> None:
    same = GOOD_ROWS[0].replace("1,", "9,", 1)  # the same client and values in the second file
    different = GOOD_ROWS[1].replace("李四", "李斯")
    folder = tmp_path / "regions"
    folder.mkdir()
    first = write_csv(folder, GOOD_ROWS, "east.csv")
    second = write_csv(folder, [same, different], "west.csv")
    code, summary = load_files_json(db, [first, second])
    assert code == 1  # all or nothing: a conflict in one file refuses both
    assert summary["duplicates"] == 1 and summary["rejected"] == 2
    assert scalar(db, "SELECT count(*) FROM member") == 0
    reasons = [(Path(e["file"]).name, e["row"], e["reason"]) for e in summary["errors"]]
    assert reasons == [
        (
            "east.csv",
            5,
            f"client 0010000002 appears again in {second} at row 5 with different name",
        ),
        (
            "west.csv",
            5,
            f"client 0010000002 appears again in {first} at row 5 with different name",
        ),
    ]
    code, skipped = load_files_json(db, [first, second], "--skip-invalid")
    assert code == 0 and skipped["loaded"] == 3 and skipped["rejected"] == 2
    # rejects per file, beside each; a folder load does not read them back as input
    for path in (first, second):
        rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
        assert "0010000002" in rejects and len(rejects.splitlines()) == 2
    assert load_files_json(db, [folder])[1]["files"] == [str(first), str(second)]


@pytest.mark.parametrize("ahead_bytes", [frames.AHEAD_BYTES, 1])
def test_a_folder_of_workbooks_read_ahead_loads_as_file_by_file(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ahead_bytes: int
) -> None:
    """Workbooks parsed ahead on threads (several at once, or one at a time when the budget
    holds only one) give the load file by file: every rejection where it is (file, sheet,
    row, column), a client in two files once, a conflict across files in both, all or
    nothing."""
    monkeypatch.setattr(frames, "AHEAD_BYTES", ahead_bytes)
    folder = tmp_path / "regions"
    folder.mkdir()
    same = GOOD_ROWS[0].replace("1,", "9,", 1)  # repeated in the third file, same values
    different = GOOD_ROWS[1].replace("李四", "李斯")  # conflicts across files 1 and 4
    books = [
        csv_as_xlsx(write_csv(folder, rows, f"part-{k}.csv"))
        for k, rows in enumerate(
            [GOOD_ROWS[:2], [BAD_ROWS[1], GOOD_ROWS[2]], [same, GOOD_ROWS[3]], [different]]
        )
    ]
    for csv_file in folder.glob("*.csv"):
        csv_file.unlink()
    code, summary = load_files_json(db, [folder])
    assert code == 1 and scalar(db, "SELECT count(*) FROM member") == 0
    assert summary["files"] == [str(book) for book in books]
    assert summary["duplicates"] == 1 and summary["rejected"] == 3
    where = [(Path(e["file"]).name, e["sheet"], e["row"], e["column"]) for e in summary["errors"]]
    assert where == [
        ("part-0.xlsx", "客户", 5, "客户号"),
        ("part-1.xlsx", "客户", 4, "手机号码"),
        ("part-3.xlsx", "客户", 4, "客户号"),
    ]
    assert "part-3.xlsx" in summary["errors"][0]["reason"]
    code, skipped = load_files_json(db, [folder], "--skip-invalid")
    assert code == 0 and skipped["loaded"] == 3 and skipped["errors"] == summary["errors"]


def test_rows_staged_before_the_dedupe_are_taken_out_and_counted_once(
    db: str, tmp_path: Path
) -> None:
    """Each file is staged as soon as it is read; a client the next file repeats (once the
    same, once in conflict) is taken out of the stage after the dedupe, and every count is
    what one file holding all the rows gives."""
    recent = GOOD_ROWS[0].replace("2019-12-01", "2020-06-01")  # traded recently: excluded
    again = recent.replace("1,", "7,", 1)
    conflict = GOOD_ROWS[2].replace("王五", "王武")
    folder = tmp_path / "parts"
    folder.mkdir()
    write_csv(folder, [recent, GOOD_ROWS[1], GOOD_ROWS[2]], "a.csv")
    write_csv(folder, [again, GOOD_ROWS[3], conflict], "b.csv")
    code, split = load_files_json(db, [folder], "--skip-invalid")
    assert code == 0, split
    assert split["excluded_reasons"] == {"traded_recently": 1} and split["excluded"] == 1
    assert split["duplicates"] == 1 and split["rejected"] == 2 and split["loaded"] == 2
    assert split["unknown_branches"] == {"杭州西湖营业部": 1}
    members = query(db, "SELECT client_id FROM member ORDER BY 1")
    assert [m for (m,) in members] == ["0010000002", "0010000004"]
    whole = write_csv(tmp_path, [recent, GOOD_ROWS[1], GOOD_ROWS[2], again, GOOD_ROWS[3], conflict])
    code, one = load_files_json(db, [whole], "--skip-invalid", "--dry-run")
    assert code == 0, one
    counted = ("excluded_reasons", "excluded", "duplicates", "rejected", "unknown_branches")
    assert {k: one[k] for k in counted} == {k: split[k] for k in counted}
    assert one["unchanged"] == 2 and one["loaded"] == 0  # the same members, already loaded


def test_new_members_rows_are_written_alike_on_both_databases(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new member's row names the campaign, the client, the record of its file, its
    do-not-call flag, no advisor and no control group, and joined at the load's time (its
    client's `updated_at`): on PostgreSQL sent by binary COPY from the batches the load
    kept (`load._copy_members`), on SQLite inserted from the stage."""
    from reactivate.db import bulk

    copied: list[str] = []
    copy_binary = bulk.copy_binary

    def spied(conn: Any, name: str, frame: Any, types: Any) -> int:
        copied.append(name)
        return copy_binary(conn, name, frame, types)

    monkeypatch.setattr(bulk, "copy_binary", spied)
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("客户号,手机号,原因\n0010000003,,客户要求\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["dnc", "load", str(dnc), "--db", db]).exit_code == 0
    folder = tmp_path / "parts"
    folder.mkdir()
    write_csv(folder, GOOD_ROWS[:2], "a.csv")
    write_csv(folder, GOOD_ROWS[2:], "b.csv")
    code, summary = load_files_json(db, [folder])
    assert code == 0, summary
    rows = query(
        db,
        """SELECT m.campaign_id = c.id, m.client_id, i.file_name, m.dnc, m.control,
                  m.advisor_code, m.assigned_at, m.considered_at, m.joined_at = k.updated_at
           FROM member m JOIN campaign c ON c.slug = '2020h2-dormant'
           JOIN import_record i ON i.id = m.import_id
           JOIN client k ON k.client_id = m.client_id ORDER BY m.client_id""",
    )
    assert [(row[0], row[1], Path(row[2]).name, *row[3:]) for row in rows] == [
        (True, "0010000001", "a.csv", False, False, None, None, None, True),
        (True, "0010000002", "a.csv", False, False, None, None, None, True),
        (True, "0010000003", "b.csv", True, False, None, None, None, True),
        (True, "0010000004", "b.csv", False, False, None, None, None, True),
    ]
    postgresql = db.startswith("postgresql")
    assert copied == (["stage_account", "stage_account", "member", "member"] if postgresql else [])


def test_workbooks_opened_ahead_come_in_order_and_an_error_comes_at_its_turn(
    tmp_path: Path,
) -> None:
    import threading

    books = [
        csv_as_xlsx(write_csv(tmp_path, GOOD_ROWS[k : k + 1], f"part-{k}.csv")) for k in range(4)
    ]
    books[2].write_bytes(b"not a workbook")
    opened = frames.open_each_frames(books, ACCOUNT_FIELDS)
    seen = []
    with pytest.raises(InputError):
        for path, table, batches in opened:
            assert batches is not None and table.file == str(path)
            seen.append((path, [b.height for b in batches]))
    assert seen == [(books[0], [1]), (books[1], [1])]
    opened.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("open-ahead")]


def test_rejects_of_several_files_go_into_the_folder_given(db: str, tmp_path: Path) -> None:
    first = write_csv(tmp_path, [GOOD_ROWS[0], *BAD_ROWS[:1]], "east.csv")
    second = write_csv(tmp_path, [GOOD_ROWS[1], *BAD_ROWS[1:2]], "west.csv")
    out = tmp_path / "rejected"
    code, summary = load_files_json(db, [first, second], "--skip-invalid", "--rejects", str(out))
    assert code == 0 and summary["rejected"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["east.csv.rejects.csv", "west.csv.rejects.csv"]


def test_an_empty_folder_is_refused(db: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli(db, "load", str(tmp_path / "empty"), "--campaign", "2020h2-dormant")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "no .xlsx, .xls or .csv file" in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_batch_boundary_inside_a_clients_rows_changes_nothing(
    db_url: str, tmp_path: Path, suffix: str
) -> None:
    """Rows read and cleaned a batch at a time dedupe as one: a client whose rows fall in
    two batches (rows 5 and 6 with batches of 2 rows from row 4) counts once, and a
    conflict across the boundary rejects both rows."""
    rows = [
        GOOD_ROWS[0],
        GOOD_ROWS[1],
        GOOD_ROWS[1].replace("2,", "5,", 1),  # the same client again, in the next batch
        GOOD_ROWS[2],
        GOOD_ROWS[2].replace("王五", "王武"),  # a conflict in the batch after
        GOOD_ROWS[3],
    ]
    path = write_csv(tmp_path, rows, "accounts.csv")
    if suffix == ".xlsx":
        path = csv_as_xlsx(path)
    table, batches = open_frames(path, ACCOUNT_FIELDS, batch_rows=2)
    assert batches is not None and [len(b) for b in batches] == [2, 2, 2]
    outcomes = []
    for batch_rows in (2, 1_000):
        engine = open_engine(f"sqlite:///{tmp_path / f'batch{batch_rows}.db'}")
        registry.register(engine, CAMPAIGN_FILE)
        summary = load_accounts(
            engine,
            "2020h2-dormant",
            path,
            LoadOptions(skip_invalid=True, batch_rows=batch_rows, rejects_path=tmp_path / "r.csv"),
        )
        with engine.connect() as conn:
            members = conn.execute(text("SELECT client_id FROM member ORDER BY 1")).scalars()
            outcomes.append((summary.counts(), [str(e) for e in summary.errors], list(members)))
        engine.dispose()
    assert outcomes[0] == outcomes[1]
    counts, errors, members = outcomes[0]
    assert counts["duplicates"] == 1 and counts["rejected"] == 2 and counts["loaded"] == 3
    assert [e.split(": ")[0] for e in errors] == [
        f"{table.file}{', sheet ' + str(table.sheet) if table.sheet else ''}, row {n}, column 客户号"
        for n in (7, 8)
    ]
    assert members == ["0010000001", "0010000002", "0010000004"]


def _summary_and_tallies(db: str) -> list[list[tuple[Any, ...]]]:
    return [
        sorted(query(db, sql), key=repr)
        for sql in (
            "SELECT * FROM client_stage",
            "SELECT * FROM stage_tally WHERE members <> 0",
            "SELECT * FROM stage_days WHERE clients <> 0",
        )
    ]


@pytest.mark.parametrize(("bulk_from", "may_skip_keys"), [(None, True), (1, True), (1, False)])
def test_a_load_s_summary_rows_and_tallies_equal_a_rebuild(
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bulk_from: int | None,
    may_skip_keys: bool,
) -> None:
    """A load writes its new members' summary rows and tallies straight from the staged
    rows (`stages.add_new_members`), not through the rebuild from events; they are the
    rebuild's all the same: do-not-call, unknown branch, never traded, a later load that
    adds members and changes a member's keys. With `bulk_from` every load takes the bulk
    path (on PostgreSQL: foreign keys known to hold, or checked once where the role may
    not skip them, secondary indexes dropped and made again, and the summary tables'
    primary keys), and the indexes and keys are all back afterwards, the keys validated."""
    from reactivate.db import bulk, stages

    if bulk_from is not None:
        monkeypatch.setattr(bulk, "FOREIGN_KEYS_ONCE_FROM", bulk_from)
    if not may_skip_keys:  # (the tests' role is the server's superuser)
        monkeypatch.setattr(bulk, "_may_skip_triggers", lambda conn: False)
    postgresql = db.startswith("postgresql")
    indexes = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename IN ('client', 'member', 'client_stage') ORDER BY 1"
    )
    keys = (
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
        " FROM pg_constraint WHERE contype IN ('f', 'p')"
        " AND conrelid IN ('member'::regclass, 'client_stage'::regclass) ORDER BY 1, 2"
    )
    before = query(db, indexes) + query(db, keys) if postgresql else []
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("客户号,手机号,原因\n0010000001,,客户要求\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["dnc", "load", str(dnc), "--db", db]).exit_code == 0
    engine = open_engine(db)
    options = LoadOptions(confirm_new=True)
    load_accounts(engine, "2020h2-dormant", write_csv(tmp_path, GOOD_ROWS[:3]), options)
    later = [GOOD_ROWS[0].replace("C3-稳健型", "C4"), *GOOD_ROWS[1:]]
    load_accounts(engine, "2020h2-dormant", write_csv(tmp_path, later, "later.csv"), options)
    loaded = _summary_and_tallies(db)
    assert len(loaded[0]) == 4
    campaign_id = registry.get(engine, "2020h2-dormant").id
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    engine.dispose()
    assert _summary_and_tallies(db) == loaded
    if postgresql:
        assert query(db, indexes) + query(db, keys) == before


def test_tallies_of_a_load_whose_repeated_ids_are_dropped_equal_a_rebuild(
    db: str, tmp_path: Path
) -> None:
    """The new members' tallies are counted by kind batch by batch as the rows are read;
    the rows the dedupe takes out of the stage after (a repeat, a conflict), in batches
    of their own, are taken out of those counts too."""
    from reactivate.db import stages

    repeated = GOOD_ROWS[1].replace("2,", "5,", 1)
    conflicting = GOOD_ROWS[2].replace("3,", "6,", 1).replace("王五", "王伍")
    rows = [*GOOD_ROWS, repeated, conflicting]
    engine = open_engine(db)
    options = LoadOptions(confirm_new=True, skip_invalid=True, batch_rows=2)
    summary = load_accounts(engine, "2020h2-dormant", write_csv(tmp_path, rows), options)
    assert (summary.loaded, summary.duplicates, summary.rejected) == (3, 1, 2)
    loaded = _summary_and_tallies(db)
    assert sum(row[5] for row in loaded[1] if row[1] == "cohort") == 3  # members per cohort
    campaign_id = registry.get(engine, "2020h2-dormant").id
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    engine.dispose()
    assert _summary_and_tallies(db) == loaded


@pytest.mark.parametrize("rising", [True, False])
def test_a_load_tells_the_bulk_write_whether_its_rows_come_in_id_order(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rising: bool
) -> None:
    """The new members' keys are sorted in memory when their ids rise through the file
    (`bulk.indexes_built_after`'s `keys_in_order`), and only then."""
    from reactivate.db import bulk

    told: list[bool] = []
    built_after = bulk.indexes_built_after

    def noted(*args: Any, keys_in_order: bool = False, **options: Any) -> Any:
        if options.get("keys"):
            told.append(keys_in_order)
        return built_after(*args, keys_in_order=keys_in_order, **options)

    monkeypatch.setattr(bulk, "indexes_built_after", noted)
    rows = GOOD_ROWS[:3] if rising else GOOD_ROWS[2::-1]
    engine = open_engine(db)
    summary = load_accounts(
        engine, "2020h2-dormant", write_csv(tmp_path, rows), LoadOptions(confirm_new=True)
    )
    engine.dispose()
    assert summary.loaded == 3
    assert told == [rising]


def test_the_asset_band_polars_counts_a_load_by_is_the_databases() -> None:
    """`stages.asset_band_expr` (a load's new members counted by kind in polars) gives
    every amount the band `stages.asset_band_sql` gives it in the database: on each edge,
    either side of it, none, negative and huge, for the default edges and others."""
    import sqlite3

    import polars as pl

    from reactivate.db import stages
    from reactivate.rules import funnel

    for edges in (funnel.DEFAULT_ASSET_EDGES, (0.0, 1.5), (1_000.0,)):
        amounts = [None, -1.0, 0.0, 1e18] + [e + d for e in edges for d in (-0.01, 0.0, 0.01)]
        by_polars = (
            pl.DataFrame({"assets": amounts}, schema={"assets": pl.Float64})
            .select(stages.asset_band_expr(pl.col("assets"), edges))
            .to_series()
            .to_list()
        )
        with sqlite3.connect(":memory:") as conn:
            band = stages.asset_band_sql("?", edges).replace("?", "CAST(? AS REAL)")
            by_sql = [
                conn.execute(f"SELECT {band}", (a,) * band.count("?")).fetchone()[0]
                for a in amounts
            ]
        assert by_polars == by_sql
        assert len(set(by_sql)) == len(edges) + 2  # every band and 'unknown' met
