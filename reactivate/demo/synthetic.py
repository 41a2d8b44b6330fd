"""Seeded synthetic branches, advisors and dormant accounts, and the files a core system exports.

Nothing here is real personal data: names are random pairs of a common surname and common
given-name characters, mobiles are drawn from a permutation of the mobile number space.
The same arguments and seed always give the same rows, and the xlsx files written here are
byte-for-byte reproducible, so the committed samples under `data/` do not churn.

    >>> bs = branches(3)
    >>> advs = advisors(12, bs, seed=1)
    >>> rows = list(accounts(100, advs, seed=1))
    >>> write_accounts_xlsx(Path("dormant.xlsx"), rows)  # doctest: +SKIP
    100

Only the standard library's `random.Random(seed)` and xlsxwriter are used, so a million
accounts generate in a few seconds (writing them to xlsx takes minutes: xlsxwriter's cost).
"""

from __future__ import annotations

import csv
import itertools
import math
import random
import re
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import xlsxwriter

__all__ = [
    "ACCOUNT_HEADERS",
    "RISK_LABELS",
    "ROSTER_HEADERS",
    "STATUSES",
    "SyntheticAccount",
    "SyntheticAdvisor",
    "accounts",
    "advisors",
    "branches",
    "write_accounts_csv",
    "write_accounts_xlsx",
    "write_accounts_xlsx_xml",
    "write_roster_xlsx",
]


@dataclass(frozen=True)
class SyntheticAdvisor:
    """A 客户经理 on the roster; `active` False means 离职 (left the firm)."""

    code: str
    name: str
    branch: str
    branch_code: str
    wecom_userid: str
    capacity: int
    active: bool


@dataclass(frozen=True)
class SyntheticAccount:
    """One row of a dormant-account export; `last_trade_date` None means never traded."""

    client_id: str
    name: str
    mobile: str
    branch: str
    branch_code: str
    assets: float
    last_trade_date: date | None
    risk: int
    opened_at: date
    previous_advisor: str | None
    status: str


# Headers exactly as the core system exports them (the loader's aliases must match these).
ACCOUNT_HEADERS: tuple[str, ...] = (
    "序号",
    "客户号",
    "客户姓名",
    "手机号码",
    "所属营业部",
    "营业部代码",
    "总资产(元)",
    "最后交易日期",
    "风险承受能力",
    "开户日期",
    "原客户经理",
    "账户状态",
)
ROSTER_HEADERS: tuple[str, ...] = (
    "工号",
    "姓名",
    "营业部",
    "营业部代码",
    "企业微信账号",
    "容量",
    "状态",
)
RISK_LABELS: dict[int, str] = {1: "保守型", 2: "谨慎型", 3: "稳健型", 4: "积极型", 5: "激进型"}
STATUSES: tuple[str, ...] = ("正常", "冻结", "销户")

# (city code, city, streets): branch names read like "上海浦东南路营业部".
_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("上海", ("浦东南路", "南京西路", "淮海中路", "世纪大道", "张杨路")),
    ("北京", ("建国门外大街", "金融大街", "中关村大街", "朝阳门北大街", "西直门外大街")),
    ("深圳", ("深南大道", "福华一路", "华强北路", "蛇口工业大道", "宝安南路")),
    ("广州", ("天河北路", "环市东路", "花城大道", "中山五路")),
    ("杭州", ("庆春路", "延安路", "文三路", "钱江路")),
    ("南京", ("中山路", "汉中路", "洪武路")),
    ("成都", ("人民南路", "蜀都大道", "天府大道")),
    ("武汉", ("建设大道", "中南路", "解放大道")),
    ("西安", ("高新路", "东大街", "南二环西段")),
    ("天津", ("南京路", "友谊路")),
    ("重庆", ("民族路", "江北城大街")),
    ("苏州", ("人民路", "苏州大道东")),
    ("宁波", ("中山东路", "江东北路")),
    ("青岛", ("香港中路", "山东路")),
    ("厦门", ("湖滨南路", "鹭江道")),
    ("长沙", ("五一大道", "芙蓉中路")),
    ("郑州", ("金水路", "农业路")),
    ("济南", ("泺源大街", "经七路")),
    ("合肥", ("长江西路", "马鞍山路")),
    ("福州", ("五四路", "湖东路")),
)

# Common surnames with rough frequency weights (per cent) and pinyin for WeCom userids.
_SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.9), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.2), ("黄", "huang", 2.2), ("赵", "zhao", 2.2),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.3), ("孙", "sun", 1.3),
    ("马", "ma", 1.2), ("朱", "zhu", 1.1), ("胡", "hu", 1.1), ("郭", "guo", 1.1),
    ("何", "he", 1.0), ("高", "gao", 1.0), ("林", "lin", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.9), ("谢", "xie", 0.7), ("宋", "song", 0.7),
    ("唐", "tang", 0.7), ("许", "xu", 0.6), ("韩", "han", 0.6), ("冯", "feng", 0.6),
    ("邓", "deng", 0.6), ("曹", "cao", 0.6), ("彭", "peng", 0.5), ("曾", "zeng", 0.5),
    ("肖", "xiao", 0.5), ("田", "tian", 0.5), ("董", "dong", 0.5), ("袁", "yuan", 0.5),
    ("潘", "pan", 0.4), ("于", "yu", 0.4), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.4),
    ("余", "yu", 0.4), ("杜", "du", 0.4), ("叶", "ye", 0.4), ("程", "cheng", 0.4),
    ("苏", "su", 0.3), ("魏", "wei", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3),
    ("任", "ren", 0.3), ("沈", "shen", 0.3), ("姚", "yao", 0.3), ("卢", "lu", 0.3),
    ("姜", "jiang", 0.3), ("崔", "cui", 0.3), ("钟", "zhong", 0.3), ("谭", "tan", 0.3),
    ("陆", "lu", 0.2), ("汪", "wang", 0.2), ("范", "fan", 0.2), ("金", "jin", 0.2),
    ("石", "shi", 0.2), ("廖", "liao", 0.2), ("贾", "jia", 0.2), ("夏", "xia", 0.2),
    ("韦", "wei", 0.2), ("方", "fang", 0.2), ("欧阳", "ouyang", 0.05), ("司马", "sima", 0.02),
    ("诸葛", "zhuge", 0.01), ("上官", "shangguan", 0.01),
)  # fmt: skip

_GIVEN: tuple[tuple[str, str], ...] = tuple(
    (c, p)
    for c, p in (
        pair.split(":")
        for pair in (
            "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong "
            "艳:yan 杰:jie 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 桂:gui 英:ying "
            "华:hua 玉:yu 建:jian 国:guo 红:hong 文:wen 辉:hui 鹏:peng 飞:fei 斌:bin 宇:yu "
            "浩:hao 凯:kai 健:jian 俊:jun 帆:fan 旭:xu 宁:ning 龙:long 欢:huan 阳:yang 晨:chen "
            "佳:jia 琳:lin 婷:ting 雪:xue 慧:hui 颖:ying 倩:qian 梅:mei 琴:qin 云:yun 莉:li "
            "兰:lan 萍:ping 燕:yan 波:bo 峰:feng 亮:liang 成:cheng 志:zhi 海:hai 新:xin 春:chun "
            "小:xiao 晓:xiao 思:si 雨:yu 子:zi 嘉:jia 欣:xin 怡:yi 梓:zi 涵:han 博:bo 航:hang "
            "昊:hao 然:ran 轩:xuan 泽:ze 睿:rui 诗:shi 悦:yue 彤:tong 瑶:yao 立:li 家:jia 永:yong "
            "德:de 振:zhen 荣:rong 天:tian 东:dong 晶:jing 丹:dan 玲:ling 蕾:lei 璐:lu 鑫:xin"
        ).split()
    )
)

_SURNAME_CHARS = tuple(s for s, _, _ in _SURNAMES)
_SURNAME_CUM = tuple(accumulate(w for _, _, w in _SURNAMES))
_GIVEN_CHARS = tuple(c for c, _ in _GIVEN)

# Mobile prefixes 130-139, 150-153, 155-159, 180-189: 29 blocks of 10^8 numbers each.
_MOBILE_PREFIXES = (
    tuple(range(130, 140)) + (150, 151, 152, 153, 155, 156, 157, 158, 159) + tuple(range(180, 190))
)
_MOBILE_SPACE = len(_MOBILE_PREFIXES) * 10**8

_RISK_CUM = tuple(accumulate((10.0, 30.0, 35.0, 18.0, 7.0)))  # C1..C5, weighted toward C2-C3
_ASSET_MU = math.log(30_000.0)  # median 30k yuan
_ASSET_SIGMA = 1.5  # 1% above ~1M, the largest of a million around tens of millions
_DORMANT_DAYS = 180
_MAX_ACCOUNT_AGE_DAYS = 20 * 365
_EXCEL_EPOCH = date(1899, 12, 30)
# A fixed creation time so that re-running a writer produces identical bytes.
_FIXED_CREATED = datetime(2020, 6, 30, 18, 0, 0)


def branches(n: int) -> list[tuple[str, str]]:
    """`n` (code, name) pairs such as ('0101', '上海浦东南路营业部'), cities taken in turn.

    The code is the city's two digits then the branch's number within the city.
    """
    if not 0 <= n <= len(_CITIES) * 99:
        raise ValueError(f"branches: n must be between 0 and {len(_CITIES) * 99}, got {n}")
    out: list[tuple[str, str]] = []
    for j in range(n):
        city_idx, k = j % len(_CITIES), j // len(_CITIES)
        city, streets = _CITIES[city_idx]
        place = streets[k] if k < len(streets) else f"第{k + 1}"
        out.append((f"{city_idx + 1:02d}{k + 1:02d}", f"{city}{place}营业部"))
    return out


def advisors(n: int, branches: Sequence[tuple[str, str]], seed: int = 0) -> list[SyntheticAdvisor]:
    """`n` advisors A0001.. spread evenly over `branches` in order; about 5% 离职 (at least
    one when n >= 2), capacities 100-400 in tens, WeCom userids like 'zhangwei01'."""
    if n and not branches:
        raise ValueError("advisors: at least one branch is needed")
    rng = random.Random(seed)
    inactive = set(rng.sample(range(n), max(1, round(n * 0.05)))) if n >= 2 else set()
    seen: dict[str, int] = {}
    out: list[SyntheticAdvisor] = []
    for i in range(n):
        branch_code, branch_name = branches[i * len(branches) // n]
        surname, surname_py, _ = _SURNAMES[bisect(_SURNAME_CUM, rng.random() * _SURNAME_CUM[-1])]
        given = rng.sample(_GIVEN, 2 if rng.random() < 0.6 else 1)
        base = surname_py + "".join(p for _, p in given)
        seen[base] = seen.get(base, 0) + 1
        capacity = 10 * round(rng.triangular(100, 400, 200) / 10)
        out.append(
            SyntheticAdvisor(
                code=f"A{i + 1:04d}",
                name=surname + "".join(c for c, _ in given),
                branch=branch_name,
                branch_code=branch_code,
                wecom_userid=f"{base}{seen[base]:02d}",
                capacity=capacity,
                active=i not in inactive,
            )
        )
    return out


def accounts(
    n: int,
    advisors: Sequence[SyntheticAdvisor],
    seed: int = 0,
    as_of: date = date(2020, 6, 30),
    *,
    recent_share: float = 0.15,
    never_traded_share: float = 0.02,
    frozen_share: float = 0.02,
    closed_share: float = 0.01,
) -> Iterator[SyntheticAccount]:
    """Yield `n` accounts in ascending client-id order, lazily (a million take a few seconds).

    Each account belongs to the branch of a random advisor; for 70% that advisor (active or
    not) is the previous advisor. `recent_share` of accounts traded within the last 179 days
    before `as_of`, `never_traded_share` never traded, the rest last traded 180 days or more
    before `as_of` (always on a weekday, never before the account was opened).
    """
    if n and not advisors:
        raise ValueError("accounts: at least one advisor is needed for branches")
    if n > _MOBILE_SPACE:
        raise ValueError(f"accounts: at most {_MOBILE_SPACE} unique mobiles, asked for {n}")
    return _accounts(
        n, advisors, seed, as_of, recent_share, never_traded_share, frozen_share, closed_share
    )


def _accounts(
    n: int,
    advs: Sequence[SyntheticAdvisor],
    seed: int,
    as_of: date,
    recent_share: float,
    never_share: float,
    frozen_share: float,
    closed_share: float,
) -> Iterator[SyntheticAccount]:
    # The draws come in a fixed order (set-up, then per account), so a seed gives fixed rows.
    rng = random.Random(seed)
    rand = rng.random
    gauss = rng.gauss
    exp = math.exp
    new_object = object.__new__

    id_next, max_step = _client_id_start(rng, n)
    mob_a, mob_b = _mobile_permutation(rng)
    prefixes = [str(p) for p in _MOBILE_PREFIXES]
    draw_name = _name_drawer(rand)
    draw_dates = _dates_drawer(rand, as_of, never_share, recent_share)
    adv_info = [(a.branch, a.branch_code, a.code) for a in advs]
    n_adv = len(adv_info)
    risk_cum, r_total = _RISK_CUM, _RISK_CUM[-1]
    frozen_cut = frozen_share
    closed_cut = frozen_share + closed_share

    for i in range(n):
        client_id = f"{id_next:010d}"
        id_next += 1 + int(rand() * max_step)
        name = draw_name()

        m = (mob_a * i + mob_b) % _MOBILE_SPACE
        mobile = prefixes[m // 100_000_000] + f"{m % 100_000_000:08d}"

        branch, branch_code, adv_code = adv_info[int(rand() * n_adv)]
        previous_advisor = adv_code if rand() < 0.7 else None

        assets = round(exp(_ASSET_MU + _ASSET_SIGMA * gauss(0.0, 1.0)), 2)
        opened_at, last_trade = draw_dates()

        v = rand()
        status = "冻结" if v < frozen_cut else "销户" if v < closed_cut else "正常"

        # Same object as SyntheticAccount(...), without the frozen __init__'s eleven
        # object.__setattr__ calls: 0.5 s instead of 1.3 s per million rows.
        account = new_object(SyntheticAccount)
        account.__dict__.update(
            client_id=client_id,
            name=name,
            mobile=mobile,
            branch=branch,
            branch_code=branch_code,
            assets=assets,
            last_trade_date=last_trade,
            # rand() < 1, so bisect never runs past the last risk level.
            risk=bisect(risk_cum, rand() * r_total) + 1,
            opened_at=opened_at,
            previous_advisor=previous_advisor,
            status=status,
        )
        yield account


def _client_id_start(rng: random.Random, n: int) -> tuple[int, int]:
    """The first client id and the largest gap to the next.

    Ids ascend from a random start in gaps of 1-9 (fewer when n is huge), so all are
    unique, 10 digits, and most begin with zeros like a core system's 资金账号."""
    id_next = rng.randrange(1_000_000, 30_000_000)
    return id_next, max(1, min(9, (9_999_999_999 - id_next) // max(n, 1)))


def _mobile_permutation(rng: random.Random) -> tuple[int, int]:
    """(a, b): the i-th account gets mobile number (a*i + b) mod space, a bijection when
    gcd(a, space) == 1, so no two accounts share a mobile."""
    mob_a = rng.randrange(_MOBILE_SPACE // 3, _MOBILE_SPACE) | 1
    while math.gcd(mob_a, _MOBILE_SPACE) != 1:
        mob_a += 2
    return mob_a, rng.randrange(_MOBILE_SPACE)


def _name_drawer(rand: Callable[[], float]) -> Callable[[], str]:
    """Draws a name: a surname by its weight, then a one-character given name (30%) or two."""
    surnames, surname_cum, s_total = _SURNAME_CHARS, _SURNAME_CUM, _SURNAME_CUM[-1]
    given1 = _GIVEN_CHARS
    given2 = [a + b for a in given1 for b in given1]
    n_given1, n_given2 = len(given1), len(given2)

    def draw() -> str:
        # rand() < 1, so bisect never runs past the last surname.
        surname = surnames[bisect(surname_cum, rand() * s_total)]
        u = rand()
        if u < 0.3:
            return surname + given1[int(u * (1 / 0.3) * n_given1)]
        return surname + given2[int((u - 0.3) * (1 / 0.7) * n_given2)]

    return draw


def _dates_drawer(
    rand: Callable[[], float], as_of: date, never_share: float, recent_share: float
) -> Callable[[], tuple[date, date | None]]:
    """Draws (opened_at, last_trade_date): never traded, traded within the last 179 days, or
    dormant; trade dates are weekdays, never before the opening."""
    # Day k before as_of; trade dates are weekdays only, drawn by index into `trade_dates`.
    as_of_ord = as_of.toordinal()
    days = [date.fromordinal(as_of_ord - k) for k in range(_MAX_ACCOUNT_AGE_DAYS + 1)]
    trade_dates = [d for d in days if d.weekday() < 5]
    weekdays_before = [0]  # weekdays_before[k]: trade dates fewer than k days before as_of
    for d in days:
        weekdays_before.append(weekdays_before[-1] + (d.weekday() < 5))
    n_recent_dates = weekdays_before[_DORMANT_DAYS]
    never_cut = never_share
    recent_cut = never_share + recent_share
    min_open = _DORMANT_DAYS + 1
    open_span = _MAX_ACCOUNT_AGE_DAYS - min_open

    def draw() -> tuple[date, date | None]:
        # Opened at least 181 days ago, so a dormant last trade always fits after opening.
        opened_ago = min_open + int(rand() * open_span)
        opened_at = days[opened_ago]
        u = rand()
        if u < never_cut:
            return opened_at, None
        if u < recent_cut:
            return opened_at, trade_dates[int(rand() * n_recent_dates)]
        # The smaller of two uniforms: more accounts went quiet lately than long ago.
        u, v = rand(), rand()
        span = weekdays_before[opened_ago + 1] - n_recent_dates
        last_trade = trade_dates[n_recent_dates + int((u if u < v else v) * span)]
        # with no weekday between opening and 180 days ago, the account opened that day
        return min(opened_at, last_trade), last_trade

    return draw


def _risk_label(risk: int) -> str:
    return f"C{risk}-{RISK_LABELS[risk]}"


def _new_workbook(path: Path) -> Any:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": _FIXED_CREATED, "author": "reactivate synthetic"})
    return workbook


def write_activity_xlsx(path: Path, rows: Iterable[tuple[str, date | None]]) -> int:
    """Write a later core-system export: each client's id (text) and last trade date (a date
    cell, blank when the client never traded); return the rows written."""
    workbook = _new_workbook(path)
    try:
        sheet = workbook.add_worksheet("交易情况")
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, ("客户号", "最后交易日期"), bold)
        sheet.set_column(0, 1, 14)
        count = 0
        for count, (client_id, traded) in enumerate(rows, start=1):
            sheet.write_string(count, 0, client_id)
            if traded is not None:
                sheet.write_datetime(count, 1, datetime.combine(traded, datetime.min.time()), day)
        return count
    finally:
        workbook.close()


def write_accounts_xlsx(
    path: Path,
    rows: Iterable[SyntheticAccount],
    *,
    title: str | None = "休眠客户清单(导出)",
    messy: bool = False,
    seed: int = 0,
) -> int:
    """Write accounts as a core-system export; return the number of accounts written.

    Ids are text, mobiles number cells, assets numbers formatted #,##0.00, dates date cells,
    risk like 'C3-稳健型'. With `title`, a title row and a blank row come before the header.
    `messy` adds what hand editing leaves (chosen by `seed`): mobiles as '+86 138-1234-5678'
    or '138 1234 5678' text, dates as text '2020/1/5' or '20200105' or bare serial numbers,
    assets as text '12,345.67', risk as only 'C3' or only '稳健型', names inside full-width
    spaces, a blank row after the fifth account (and about one in 500 later), and a 合计 row.
    """
    workbook = _new_workbook(path)
    try:
        cells = _AccountCells(workbook, random.Random(seed).random if messy else None)
        r = cells.header(title)
        total_assets = 0.0
        count = 0
        for a in rows:
            count += 1
            cells.account(r, count, a)
            total_assets += a.assets
            r += 1
            if cells.rand is not None and (count == 5 or cells.rand() < 0.002):
                r += 1  # a blank row left in the middle
        if cells.rand is not None:
            cells.write_string(r, 0, "合计", cells.bold)
            cells.write_number(r, 6, round(total_assets, 2), cells.money_fmt)
        return count
    finally:
        workbook.close()


def write_accounts_xlsx_xml(
    path: Path, rows: Iterable[SyntheticAccount], *, title: str | None = "休眠客户清单(导出)"
) -> int:
    """`write_accounts_xlsx(path, rows, title=title)` (not messy), its sheet's rows written as
    XML straight into the zip: the same cells, formats and parts (only the compression
    differs), about ten times faster, for workbooks of a million rows. Returns the rows."""
    import tempfile
    import zipfile
    from xml.sax.saxutils import escape

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return write_accounts_xlsx(path, [], title=title)
    header_row = 1 if title is None else 3  # as Excel numbers it
    with tempfile.TemporaryDirectory() as tmp:  # every part as xlsxwriter writes it...
        template = Path(tmp) / "template.xlsx"
        write_accounts_xlsx(template, [first], title=title)  # (its styles: the formats used)
        with zipfile.ZipFile(template) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    head = sheet[: sheet.index(f'<row r="{header_row + 1}"')]  # ...but the account's row
    tail = sheet[sheet.index("</sheetData>") :]

    def text(ref: str, value: str) -> str:
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'

    epoch = _EXCEL_EPOCH.toordinal()
    count = 0

    def xml_rows() -> Iterator[str]:
        nonlocal count
        for count, a in enumerate(itertools.chain([first], rows), 1):
            r = header_row + count
            last = a.last_trade_date
            yield (
                f'<row r="{r}"><c r="A{r}"><v>{count}</v></c>{text(f"B{r}", a.client_id)}'
                f'{text(f"C{r}", a.name)}<c r="D{r}" s="2"><v>{int(a.mobile)}</v></c>'
                f"{text(f'E{r}', a.branch)}{text(f'F{r}', a.branch_code)}"
                f'<c r="G{r}" s="3"><v>{a.assets:.16G}</v></c>'
                + (
                    ""
                    if last is None
                    else f'<c r="H{r}" s="4"><v>{last.toordinal() - epoch}</v></c>'
                )
                + text(f"I{r}", _risk_label(a.risk))
                + f'<c r="J{r}" s="4"><v>{a.opened_at.toordinal() - epoch}</v></c>'
                + ("" if a.previous_advisor is None else text(f"K{r}", a.previous_advisor))
                + f"{text(f'L{r}', a.status)}</row>"
            )

    # the rows go to a temporary file first: the dimension before them names the last row
    partial = path.with_name(path.name + ".part")
    with tempfile.TemporaryFile() as body:
        generated = xml_rows()
        while chunk := "".join(itertools.islice(generated, 10_000)):
            body.write(chunk.encode())
        dimension = f'<dimension ref="A1:L{header_row + count}"/>'
        head = re.sub(r'<dimension ref="[^"]*"/>', dimension, head, count=1)
        body.seek(0)
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, data in parts.items():
                if name != "xl/worksheets/sheet1.xml":
                    archive.writestr(name, data)
                    continue
                with archive.open(name, "w", force_zip64=True) as out:
                    out.write(head.encode())
                    while block := body.read(1 << 24):
                        out.write(block)
                    out.write(tail.encode())
    partial.replace(path)
    return count


class _AccountCells:
    """The export's sheet, written a row at a time: typed cells, or with `rand` (messy) the
    cells hand editing leaves. Every draw of `rand` comes in the order of the cells it shapes,
    so a seed always gives the same bytes."""

    def __init__(self, workbook: Any, rand: Callable[[], float] | None) -> None:
        self.sheet = sheet = workbook.add_worksheet("Sheet1")
        self.rand = rand
        self.bold = workbook.add_format({"bold": True})
        self.date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.money_fmt = workbook.add_format({"num_format": "#,##0.00"})
        self.int_fmt = workbook.add_format({"num_format": "0"})
        self.write_string = sheet.write_string
        self.write_number = sheet.write_number
        self.write_datetime = sheet.write_datetime
        self.epoch_ord = _EXCEL_EPOCH.toordinal()

    def header(self, title: str | None) -> int:
        """Column widths, the title row (then a blank row) and the header; returns the first
        account's row."""
        for col, width in enumerate((7, 12, 10, 13, 22, 10, 14, 12, 13, 12, 10, 9)):
            self.sheet.set_column(col, col, width)
        r = 0
        if title is not None:
            self.write_string(0, 0, title, self.bold)
            r = 2
        for col, header in enumerate(ACCOUNT_HEADERS):
            self.write_string(r, col, header, self.bold)
        return r + 1

    def account(self, r: int, number: int, a: SyntheticAccount) -> None:
        """Row `r`: account `a`, the `number`-th."""
        write_string = self.write_string
        self.write_number(r, 0, number)
        write_string(r, 1, a.client_id)
        write_string(r, 4, a.branch)
        write_string(r, 5, a.branch_code)
        if a.last_trade_date is not None:
            self.date(r, 7, a.last_trade_date)
        self.date(r, 9, a.opened_at)
        if a.previous_advisor is not None:
            write_string(r, 10, a.previous_advisor)
        write_string(r, 11, a.status)
        if self.rand is None:
            write_string(r, 2, a.name)
            self.write_number(r, 3, int(a.mobile), self.int_fmt)
            self.write_number(r, 6, a.assets, self.money_fmt)
            write_string(r, 8, _risk_label(a.risk))
        else:
            self._messy(r, a, self.rand)

    def _messy(self, r: int, a: SyntheticAccount, rand: Callable[[], float]) -> None:
        """Name, mobile, assets and risk of row `r` as hand editing leaves them."""
        write_string, write_number = self.write_string, self.write_number
        write_string(r, 2, f"\u3000{a.name}\u3000" if rand() < 0.03 else a.name)
        u = rand()
        m = a.mobile
        if u < 0.04:
            write_string(r, 3, f"+86 {m[:3]}-{m[3:7]}-{m[7:]}")
        elif u < 0.06:
            write_string(r, 3, f"{m[:3]} {m[3:7]} {m[7:]}")
        else:
            write_number(r, 3, int(m), self.int_fmt)
        if rand() < 0.04:
            write_string(r, 6, f"{a.assets:,.2f}")
        else:
            write_number(r, 6, a.assets, self.money_fmt)
        u = rand()
        label = f"C{a.risk}" if u < 0.03 else RISK_LABELS[a.risk] if u < 0.06 else None
        write_string(r, 8, label or _risk_label(a.risk))

    def date(self, r: int, col: int, d: date) -> None:
        """A date cell; messy, sometimes text '2020/1/5' or '20200105' or a bare serial."""
        if self.rand is not None:
            u = self.rand()
            if u < 0.03:
                self.write_string(r, col, f"{d.year}/{d.month}/{d.day}")
                return
            if u < 0.06:
                self.write_string(r, col, d.strftime("%Y%m%d"))
                return
            if u < 0.09:
                self.write_number(r, col, d.toordinal() - self.epoch_ord)
                return
        self.write_datetime(r, col, datetime(d.year, d.month, d.day), self.date_fmt)


def write_accounts_csv(
    path: Path, rows: Iterable[SyntheticAccount], *, encoding: str = "utf-8-sig"
) -> int:
    """Write accounts as CSV with the export's headers and no title row; return rows written.

    Dates are ISO (2020-01-05), assets have two decimals, ids keep their leading zeros.
    `encoding` is utf-8, utf-8-sig (the BOM lets Excel open it) or gb18030 (Windows exports).
    """
    count = 0
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ACCOUNT_HEADERS)
        writerow = writer.writerow
        for a in rows:
            count += 1
            last = a.last_trade_date
            writerow(
                (
                    count,
                    a.client_id,
                    a.name,
                    a.mobile,
                    a.branch,
                    a.branch_code,
                    f"{a.assets:.2f}",
                    "" if last is None else last.isoformat(),
                    _risk_label(a.risk),
                    a.opened_at.isoformat(),
                    a.previous_advisor or "",
                    a.status,
                )
            )
    return count


def write_roster_xlsx(path: Path, advisors: Sequence[SyntheticAdvisor]) -> int:
    """Write the advisor roster (工号, 姓名, 营业部, 营业部代码, 企业微信账号, 容量, 状态)."""
    workbook = _new_workbook(path)
    try:
        sheet = workbook.add_worksheet("花名册")
        bold = workbook.add_format({"bold": True})
        for col, width in enumerate((8, 10, 22, 12, 16, 8, 8)):
            sheet.set_column(col, col, width)
        for col, header in enumerate(ROSTER_HEADERS):
            sheet.write_string(0, col, header, bold)
        for r, a in enumerate(advisors, start=1):
            sheet.write_string(r, 0, a.code)
            sheet.write_string(r, 1, a.name)
            sheet.write_string(r, 2, a.branch)
            sheet.write_string(r, 3, a.branch_code)
            sheet.write_string(r, 4, a.wecom_userid)
            sheet.write_number(r, 5, a.capacity)
            sheet.write_string(r, 6, "在职" if a.active else "离职")
        return len(advisors)
    finally:
        workbook.close()
