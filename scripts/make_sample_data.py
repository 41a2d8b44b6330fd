"""Make the synthetic sample files under data/ (no real personal data).

The defaults reproduce the committed files byte for byte, and copy the ones `reactivate
demo` needs into the package (reactivate/demo/sample/, which ships them):

    python scripts/make_sample_data.py            # writes data/advisors.xlsx, ...
    python scripts/make_sample_data.py --out-dir /tmp/sample --accounts 5000 --seed 7

What the dormant-account workbook holds, for `reactivate load` with the 2020h2-dormant
campaign (dormant = no trade for 180+ days as of 2020-06-30): all accounts last traded
180+ days before the as-of date or never, except `--recent` recent traders (excluded),
one frozen (冻结) and one closed (销户) account (excluded); `--dnc` of the remaining
dormant, normal accounts are on the do-not-call list.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from reactivate.demo.synthetic import (
    SyntheticAccount,
    accounts,
    advisors,
    branches,
    write_accounts_xlsx,
    write_activity_xlsx,
    write_roster_xlsx,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
#: what `reactivate demo` reads, shipped inside the package (tests/test_demo.py keeps them equal)
SAMPLE = ROOT / "reactivate" / "demo" / "sample"
SHIPPED = ("advisors.xlsx", "do_not_call.csv", "dormant_accounts.xlsx")
CAMPAIGN = "2020h2-dormant.toml"

DNC_REASONS = ("客户要求不再联系", "客户投诉后要求停止电话联系", "客户本人致电要求移出营销名单")


def _recent_trade_date(rng: random.Random, as_of: date) -> date:
    """A weekday within the last 120 days: this client is active, not dormant."""
    d = as_of - timedelta(days=rng.randrange(1, 120))
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def make_sample(
    out_dir: Path,
    *,
    seed: int = 2020,
    n_accounts: int = 400,
    n_advisors: int = 12,
    n_branches: int = 3,
    n_recent: int = 6,
    n_dnc: int = 3,
    as_of: date = date(2020, 6, 30),
) -> dict[str, int]:
    """Write the three sample files into `out_dir`; return what they contain, counted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    roster = advisors(n_advisors, branches(n_branches), seed=seed)
    rows = list(
        accounts(
            n_accounts,
            roster,
            seed=seed,
            as_of=as_of,
            recent_share=0.0,
            frozen_share=0.0,
            closed_share=0.0,
        )
    )
    # Exact counts rather than shares, so the expected load summary is easy to state.
    rng = random.Random(seed)
    picked = rng.sample(range(n_accounts), n_recent + 2 + n_dnc)
    recent, (frozen, closed), dnc = picked[:n_recent], picked[n_recent:-n_dnc], picked[-n_dnc:]
    for i in recent:
        rows[i] = replace(rows[i], last_trade_date=_recent_trade_date(rng, as_of))
    rows[frozen] = replace(rows[frozen], status="冻结")
    rows[closed] = replace(rows[closed], status="销户")

    write_roster_xlsx(out_dir / "advisors.xlsx", roster)
    write_accounts_xlsx(out_dir / "dormant_accounts.xlsx", rows)
    _write_dnc(out_dir / "do_not_call.csv", [rows[i] for i in sorted(dnc)])
    traded_again = _later_export(out_dir / "later_export.xlsx", rows, seed)
    return {
        "advisors": len(roster),
        "inactive_advisors": sum(not a.active for a in roster),
        "accounts": len(rows),
        "dormant": len(rows) - n_recent,
        "recent": n_recent,
        "never_traded": sum(r.last_trade_date is None for r in rows),
        "frozen_or_closed": 2,
        "joinable": len(rows) - n_recent - 2,
        "do_not_call": n_dnc,
        "traded_again": traded_again,
    }


def _later_export(path: Path, rows: list[SyntheticAccount], seed: int) -> int:
    """The core system's export some months on (for `reactivate activity load`): every
    account with its last trade date, about one in ten having traded again during the
    campaign (2020-07-01 to 2020-12-31). Returns how many traded again."""
    rng = random.Random(seed + 1)  # its own draws: the other files stay as they were
    start = date(2020, 7, 1)
    latest: list[tuple[str, date | None]] = []
    again = 0
    for row in rows:
        traded = row.last_trade_date
        if rng.random() < 0.1:
            traded = start + timedelta(days=rng.randrange(0, 184))
            again += 1
        latest.append((row.client_id, traded))
    write_activity_xlsx(path, latest)
    return again


def _write_dnc(path: Path, rows: list[SyntheticAccount]) -> None:
    # UTF-8 with BOM so that Excel shows the Chinese headers.
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("客户号", "原因"))
        for k, row in enumerate(rows):
            writer.writerow((row.client_id, DNC_REASONS[k % len(DNC_REASONS)]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Make the synthetic sample files under data/ (no real personal data)."
    )
    parser.add_argument("--out-dir", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
    parser.add_argument("--accounts", type=int, default=400, help="accounts in the workbook")
    parser.add_argument("--advisors", type=int, default=12, help="advisors on the roster")
    parser.add_argument("--branches", type=int, default=3, help="branches the advisors work at")
    parser.add_argument("--recent", type=int, default=6, help="accounts that traded recently")
    parser.add_argument("--dnc", type=int, default=3, help="clients on the do-not-call list")
    args = parser.parse_args(argv)
    if args.accounts < args.recent + 2 + args.dnc:
        parser.error("--accounts must be at least --recent + --dnc + 2")
    counts = make_sample(
        args.out_dir,
        seed=args.seed,
        n_accounts=args.accounts,
        n_advisors=args.advisors,
        n_branches=args.branches,
        n_recent=args.recent,
        n_dnc=args.dnc,
    )
    print(f"wrote {args.out_dir}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if args.out_dir.resolve() == DATA.resolve():
        for name in SHIPPED:
            shutil.copyfile(DATA / name, SAMPLE / name)
        shutil.copyfile(ROOT / "campaigns" / CAMPAIGN, SAMPLE / CAMPAIGN)
        print(f"copied {', '.join(SHIPPED)} and {CAMPAIGN} into {SAMPLE}")


if __name__ == "__main__":
    main()
