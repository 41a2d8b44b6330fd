"""The seeded generator of synthetic inputs, its writers, and the committed sample files."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
import runpy
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from reactivate.demo import synthetic as syn

AS_OF = date(2020, 6, 30)
ROOT = Path(__file__).resolve().parent.parent
MOBILE = re.compile(r"1(3\d|5[0-35-9]|8\d)\d{8}")


def _advisors(n: int = 12, n_branches: int = 3, seed: int = 0) -> list[syn.SyntheticAdvisor]:
    return syn.advisors(n, syn.branches(n_branches), seed=seed)


def _rows(path: Path) -> list[list[object]]:
    rows: list[list[object]] = (
        CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    )
    return rows


def _dormant(a: syn.SyntheticAccount, as_of: date = AS_OF) -> bool:
    return a.last_trade_date is None or (as_of - a.last_trade_date).days >= 180


def test_branches_are_deterministic_and_plausible() -> None:
    assert syn.branches(3) == [
        ("0101", "上海浦东南路营业部"),
        ("0201", "北京建国门外大街营业部"),
        ("0301", "深圳深南大道营业部"),
    ]
    many = syn.branches(200)
    assert len({code for code, _ in many}) == len({name for _, name in many}) == 200
    assert all(re.fullmatch(r"\d{4}", code) and name.endswith("营业部") for code, name in many)
    with pytest.raises(ValueError):
        syn.branches(-1)


def test_advisors() -> None:
    bs = syn.branches(4)
    advs = syn.advisors(40, bs, seed=3)
    assert advs == syn.advisors(40, bs, seed=3)
    assert advs != syn.advisors(40, bs, seed=4)
    assert [a.code for a in advs] == [f"A{i:04d}" for i in range(1, 41)]
    assert Counter(a.branch_code for a in advs) == {code: 10 for code, _ in bs}
    assert sum(not a.active for a in advs) == 2  # 5%
    assert all(100 <= a.capacity <= 400 and a.capacity % 10 == 0 for a in advs)
    assert len({a.wecom_userid for a in advs}) == 40
    assert all(re.fullmatch(r"[a-z]+\d{2}", a.wecom_userid) for a in advs)
    assert sum(not a.active for a in _advisors(12)) == 1


def test_same_seed_same_rows_and_other_seed_other_rows() -> None:
    advs = _advisors()
    first = list(syn.accounts(300, advs, seed=7))
    assert first == list(syn.accounts(300, advs, seed=7))
    assert first != list(syn.accounts(300, advs, seed=8))


def test_accounts_are_ordinary_frozen_dataclasses() -> None:
    a = next(syn.accounts(1, _advisors()))
    assert a == syn.SyntheticAccount(**dataclasses.asdict(a))
    assert hash(a) == hash(syn.SyntheticAccount(**dataclasses.asdict(a)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "x"  # type: ignore[misc]


def test_account_fields() -> None:
    advs = _advisors(20, 4)
    by_code = {a.code: a for a in advs}
    rows = list(syn.accounts(5000, advs, seed=1))
    n = len(rows)

    ids = [r.client_id for r in rows]
    assert len(set(ids)) == n
    assert all(len(i) == 10 and i.isdigit() for i in ids)
    assert any(i.startswith("0") for i in ids)

    mobiles = [r.mobile for r in rows]
    assert len(set(mobiles)) == n
    assert all(MOBILE.fullmatch(m) for m in mobiles)

    dormant = sum(_dormant(r) for r in rows) / n
    assert 0.82 <= dormant <= 0.88
    never = sum(r.last_trade_date is None for r in rows)
    assert 0 < never < 0.05 * n
    assert all(r.last_trade_date is None or r.last_trade_date.weekday() < 5 for r in rows)
    assert all(r.last_trade_date is None or r.opened_at <= r.last_trade_date <= AS_OF for r in rows)

    assets = sorted(r.assets for r in rows)
    assert 20_000 < assets[n // 2] < 45_000
    assert assets[-1] > 1_000_000

    risk = Counter(r.risk for r in rows)
    assert set(risk) == {1, 2, 3, 4, 5}
    assert risk[2] + risk[3] > 0.5 * n

    status = Counter(r.status for r in rows)
    assert set(status) == {"正常", "冻结", "销户"}
    assert status["正常"] > 0.95 * n

    with_advisor = [r for r in rows if r.previous_advisor is not None]
    assert 0.65 <= len(with_advisor) / n <= 0.75
    assert all(by_code[r.previous_advisor].branch_code == r.branch_code for r in with_advisor)
    assert any(not by_code[r.previous_advisor].active for r in with_advisor)
    assert all(2 <= len(r.name) <= 4 for r in rows)


def test_shares_can_be_set() -> None:
    rows = list(
        syn.accounts(500, _advisors(), recent_share=0.0, frozen_share=0.0, closed_share=0.0)
    )
    assert all(_dormant(r) and r.status == "正常" for r in rows)


def test_accounts_need_advisors() -> None:
    with pytest.raises(ValueError):
        syn.accounts(1, [])
    assert list(syn.accounts(0, [])) == []


def test_xlsx_layout_and_cell_types(tmp_path: Path) -> None:
    rows = list(syn.accounts(50, _advisors(), seed=2))
    path = tmp_path / "dormant.xlsx"
    assert syn.write_accounts_xlsx(path, rows) == 50

    cells = _rows(path)
    assert cells[0][0] == "休眠客户清单(导出)"
    assert all(c == "" for c in cells[1])
    assert tuple(cells[2]) == syn.ACCOUNT_HEADERS
    data = cells[3:]
    assert len(data) == 50
    for row, a in zip(data, rows, strict=True):
        assert row[1] == a.client_id  # text, leading zeros kept
        assert isinstance(row[3], float) and row[3] == int(a.mobile)  # a number cell
        assert row[6] == pytest.approx(a.assets)
        assert row[7] == (a.last_trade_date or "")
        assert row[9] == a.opened_at
        assert row[8] == f"C{a.risk}-{syn.RISK_LABELS[a.risk]}"
        assert row[10] == (a.previous_advisor or "")

    untitled = tmp_path / "plain.xlsx"
    syn.write_accounts_xlsx(untitled, rows[:3], title=None)
    assert tuple(_rows(untitled)[0]) == syn.ACCOUNT_HEADERS


@pytest.mark.parametrize("title", ["休眠客户清单(导出)", None])
def test_the_xml_writer_writes_the_workbook_xlsxwriter_writes(
    tmp_path: Path, title: object
) -> None:
    """`write_accounts_xlsx_xml` (the sheet's XML straight into the zip, for a million rows)
    writes every part as `write_accounts_xlsx` does, byte for byte once unpacked: the same
    cells, styles and properties; names and advisors with characters XML escapes too."""
    import zipfile

    rows = list(syn.accounts(2_000, _advisors(), seed=3))
    rows[1] = dataclasses.replace(rows[1], name="A&B <C>", previous_advisor=None)
    rows[2] = dataclasses.replace(rows[2], last_trade_date=None, previous_advisor=" A1 ")
    kwargs = {"title": title} if title is None else {}
    written, fast = tmp_path / "xlsxwriter.xlsx", tmp_path / "xml.xlsx"
    assert syn.write_accounts_xlsx(written, rows, **kwargs) == 2_000  # type: ignore[arg-type]
    assert syn.write_accounts_xlsx_xml(fast, iter(rows), **kwargs) == 2_000  # type: ignore[arg-type]
    with zipfile.ZipFile(written) as expected, zipfile.ZipFile(fast) as got:
        assert got.namelist() == expected.namelist()
        for name in expected.namelist():
            assert got.read(name) == expected.read(name), name
    assert _rows(fast) == _rows(written)
    assert syn.write_accounts_xlsx_xml(tmp_path / "empty.xlsx", []) == 0


def test_messy_xlsx_holds_what_hand_editing_leaves(tmp_path: Path) -> None:
    rows = list(syn.accounts(1500, _advisors(), seed=5))
    path = tmp_path / "messy.xlsx"
    assert syn.write_accounts_xlsx(path, rows, messy=True) == 1500

    cells = _rows(path)
    assert tuple(cells[2]) == syn.ACCOUNT_HEADERS
    body = cells[3:]
    assert body[-1][0] == "合计"
    assert body[-1][6] == pytest.approx(sum(a.assets for a in rows))
    assert all(c == "" for c in body[5])  # the blank row after the fifth account
    data = [r for r in body[:-1] if any(c != "" for c in r)]
    assert len(data) == 1500

    mobiles = [r[3] for r in data]
    assert any(isinstance(m, str) and m.startswith("+86 ") for m in mobiles)
    assert any(isinstance(m, float) for m in mobiles)
    dates = [r[9] for r in data]
    assert any(isinstance(d, str) and "/" in d for d in dates)
    assert any(isinstance(d, str) and re.fullmatch(r"\d{8}", d) for d in dates)
    assert any(isinstance(d, float) for d in dates)  # a serial without a date format
    assert any(isinstance(d, date) for d in dates)
    assert any(isinstance(r[6], str) and "," in r[6] for r in data)
    assert any(isinstance(r[2], str) and r[2].startswith("\u3000") for r in data)
    assert {r[2].strip("\u3000") for r in data} == {a.name for a in rows}
    for row, a in zip(data, rows, strict=True):  # every variation still holds the same value
        m = row[3]
        digits = re.sub(r"\D", "", m)[-11:] if isinstance(m, str) else str(int(m))
        assert digits == a.mobile
        d = row[9]
        if isinstance(d, float):
            assert date.fromordinal(date(1899, 12, 30).toordinal() + int(d)) == a.opened_at
        elif isinstance(d, str):
            assert datetime.strptime(d, "%Y/%m/%d" if "/" in d else "%Y%m%d").date() == (
                a.opened_at
            )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_round_trips(tmp_path: Path, encoding: str) -> None:
    rows = list(syn.accounts(200, _advisors(), seed=9))
    path = tmp_path / "dormant.csv"
    assert syn.write_accounts_csv(path, rows, encoding=encoding) == 200
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    with open(path, encoding=encoding, newline="") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == syn.ACCOUNT_HEADERS
    back = [
        syn.SyntheticAccount(
            client_id=r[1],
            name=r[2],
            mobile=r[3],
            branch=r[4],
            branch_code=r[5],
            assets=float(r[6]),
            last_trade_date=date.fromisoformat(r[7]) if r[7] else None,
            risk=int(r[8][1]),
            opened_at=date.fromisoformat(r[9]),
            previous_advisor=r[10] or None,
            status=r[11],
        )
        for r in table[1:]
    ]
    assert back == rows


def test_roster_xlsx(tmp_path: Path) -> None:
    advs = _advisors()
    path = tmp_path / "roster.xlsx"
    assert syn.write_roster_xlsx(path, advs) == 12
    cells = _rows(path)
    assert tuple(cells[0]) == syn.ROSTER_HEADERS
    assert [r[0] for r in cells[1:]] == [a.code for a in advs]
    assert [r[6] for r in cells[1:]] == ["在职" if a.active else "离职" for a in advs]
    assert [r[5] for r in cells[1:]] == [a.capacity for a in advs]


def test_writers_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    advs = _advisors()
    digests = set()
    for name in ("one.xlsx", "two.xlsx"):
        syn.write_accounts_xlsx(tmp_path / name, syn.accounts(20, advs), messy=True)
        digests.add(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert len(digests) == 1


def test_make_sample_data_reproduces_the_committed_files(tmp_path: Path) -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "make_sample_data.py"))
    script["main"](["--out-dir", str(tmp_path)])
    for name in ("advisors.xlsx", "dormant_accounts.xlsx", "do_not_call.csv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data" / name).read_bytes(), name


def test_committed_sample_contents() -> None:
    roster = _rows(ROOT / "data" / "advisors.xlsx")[1:]
    assert len(roster) == 12
    assert len({r[3] for r in roster}) == 3
    assert [r[6] for r in roster].count("离职") == 1

    cells = _rows(ROOT / "data" / "dormant_accounts.xlsx")
    assert tuple(cells[2]) == syn.ACCOUNT_HEADERS
    data = cells[3:]
    assert len(data) == 400
    recent = [r for r in data if r[7] != "" and (AS_OF - r[7]).days < 180]
    assert len(recent) == 6
    assert Counter(r[11] for r in data) == {"正常": 398, "冻结": 1, "销户": 1}

    with open(ROOT / "data" / "do_not_call.csv", encoding="utf-8-sig", newline="") as f:
        dnc = list(csv.reader(f))
    assert dnc[0] == ["客户号", "原因"]
    by_id = {r[1]: r for r in data}
    assert len(dnc) == 4
    for client_id, reason in dnc[1:]:
        assert reason
        row = by_id[client_id]  # a sample client who would join the campaign
        assert row[11] == "正常" and (row[7] == "" or (AS_OF - row[7]).days >= 180)
