"""User-facing text in one place, in English and Chinese.

`t("key", **fields)` returns the text in the user's language: `REACTIVATE_LANG`
(`en` or `zh`), else Chinese when `LANG` starts with `zh`, else English.
Keys are grouped by where they appear; add both languages for every new key.
"""

from __future__ import annotations

import os

_EN: dict[str, str] = {
    # labels shared by tables and files
    "label.campaign": "campaign",
    "label.name": "name",
    "label.start": "start",
    "label.end": "end",
    "label.status": "status",
    "label.rows": "rows",
    "label.loaded": "loaded",
    "label.updated": "updated",
    "label.unchanged": "unchanged",
    "label.excluded": "excluded",
    "label.rejected": "rejected",
    "label.duplicates": "duplicates",
    "label.advisors": "advisors",
    "label.branches": "branches",
    "label.clients": "clients",
    "label.count": "count",
    "label.reason": "reason",
    "label.file": "file",
    "label.sheet": "sheet",
    "label.row": "row",
    "label.column": "column",
    "label.when": "when",
    "label.who": "who",
    "label.kind": "kind",
    "label.id": "id",
    "label.sha256": "sha256",
    "label.members": "members",
    "label.value": "value",
    # summaries
    "summary.load": "Load of {file} into {campaign}",
    "summary.roster": "Roster from {file}",
    "summary.dnc": "Do-not-call list from {file}",
    "summary.dry_run": "Dry run: nothing was written.",
    "summary.rejects_written": "Rejected rows written to {path}",
    "summary.unknown_branches": "Branches not in the roster: {names} ({count} clients)",
    "summary.overlap": "{count} clients are already in another open campaign: {action}",
    "summary.overlap_skipped": "left out (use --allow-overlap to add them)",
    "summary.overlap_allowed": "added anyway (--allow-overlap)",
    "summary.dnc_members": "{count} joining clients are on the do-not-call list (flagged, never called)",
    "summary.campaign_added": "Campaign {slug} registered.",
    "summary.campaign_updated": "Campaign {slug} updated.",
    "summary.init": "Database ready at {url} (schema version {version}).",
    "summary.alias": "Branch name '{alias}' now means '{canonical}' ({moved} clients moved).",
    "summary.no_campaigns": "No campaign registered yet: add one with `reactivate campaign add FILE`.",
    "summary.no_imports": "Nothing imported yet.",
    # errors
    "error.prefix": "Error",
    "error.rows_rejected": (
        "{count} row(s) rejected, nothing written. First: {first}. "
        "Fix them, or use --skip-invalid to load the good rows and write the rejects to a file."
    ),
    "error.more_rejections": "... and {count} more",
    "error.campaign_not_found": (
        "No campaign '{slug}'. Registered: {known}. Add it with `reactivate campaign add FILE`."
    ),
    "error.campaign_key": "{file}: key '{key}': {problem}",
    "error.campaign_toml": "{file}: not valid TOML: {problem}",
    "error.file_missing": "{file}: no such file",
    "error.file_format": "{file}: cannot read files of type '{suffix}'; use .xlsx, .xls or .csv",
    "error.file_unreadable": "{file}: cannot be read as a spreadsheet: {problem}",
    "error.sheet_missing": "{file}: no sheet named '{sheet}'; sheets: {sheets}",
    "error.no_data": "{file}: no sheet holds data",
    "error.no_header": (
        "{file}, sheet {sheet}: no header row found with the column {missing} "
        "(looked for: {aliases}); name the column with --map 'HEADER=field'"
    ),
    "error.no_header_csv": (
        "{file}: no header row found with the column {missing} "
        "(looked for: {aliases}); name the column with --map 'HEADER=field'"
    ),
    "error.bad_map": "--map '{spec}': expected HEADER=field with field one of {fields}",
    "error.db_url": "Cannot open database {url}: {problem}",
    "error.db_version": (
        "Database {url} has schema version {found}; this reactivate knows up to {known}. "
        "Upgrade reactivate."
    ),
    "error.advisor_unknown": "No advisor with code '{code}' in the roster.",
    "error.stamp_damaged": (
        "{file}: the hidden sheet '{sheet}' that identifies an issued workbook is damaged "
        "({problem}); upload the workbook as it was issued, or copy the filled rows into a "
        "freshly issued one."
    ),
    # row rejection reasons
    "reject.no_id": "no client id",
    "reject.bad_mobile": "mobile '{value}' is not 11 digits starting with 1",
    "reject.bad_date": "'{value}' is not a date (expected 2020-01-05, 2020/1/5, 20200105 or an Excel date)",
    "reject.bad_number": "'{value}' is not a number",
    "reject.bad_risk": "'{value}' is not a risk level (C1-C5 or 保守型/谨慎型/稳健型/积极型/激进型)",
    "reject.bad_bool": "'{value}' is not yes or no (是/否, Y/N, 1/0)",
    "reject.bad_int": "'{value}' is not a whole number",
    "reject.conflict": "client {client_id} appears again at row {other} with different {fields}",
    "reject.required": "no {field}",
    "reject.bad_status": "'{value}' is not 在职/离职 (active/left)",
}

_ZH: dict[str, str] = {
    "label.campaign": "活动",
    "label.name": "名称",
    "label.start": "开始",
    "label.end": "结束",
    "label.status": "状态",
    "label.rows": "行数",
    "label.loaded": "新增",
    "label.updated": "更新",
    "label.unchanged": "未变",
    "label.excluded": "排除",
    "label.rejected": "拒绝",
    "label.duplicates": "重复",
    "label.advisors": "客户经理",
    "label.branches": "营业部",
    "label.clients": "客户",
    "label.count": "数量",
    "label.reason": "原因",
    "label.file": "文件",
    "label.sheet": "工作表",
    "label.row": "行",
    "label.column": "列",
    "label.when": "时间",
    "label.who": "操作人",
    "label.kind": "类型",
    "label.id": "编号",
    "label.sha256": "SHA-256",
    "label.members": "成员",
    "label.value": "值",
    "summary.load": "{file} 导入活动 {campaign}",
    "summary.roster": "花名册 {file}",
    "summary.dnc": "勿扰名单 {file}",
    "summary.dry_run": "试运行:未写入任何数据。",
    "summary.rejects_written": "被拒绝的行已写入 {path}",
    "summary.unknown_branches": "花名册中没有的营业部:{names}(共 {count} 位客户)",
    "summary.overlap": "{count} 位客户已在其他进行中的活动里:{action}",
    "summary.overlap_skipped": "未加入(使用 --allow-overlap 加入)",
    "summary.overlap_allowed": "仍然加入(--allow-overlap)",
    "summary.dnc_members": "{count} 位加入的客户在勿扰名单上(已标记,不会拨打)",
    "summary.campaign_added": "活动 {slug} 已登记。",
    "summary.campaign_updated": "活动 {slug} 已更新。",
    "summary.init": "数据库已就绪:{url}(结构版本 {version})。",
    "summary.alias": "营业部名称“{alias}”现在指“{canonical}”(调整了 {moved} 位客户)。",
    "summary.no_campaigns": "尚未登记活动:用 `reactivate campaign add FILE` 添加。",
    "summary.no_imports": "尚无导入记录。",
    "error.prefix": "错误",
    "error.rows_rejected": (
        "{count} 行被拒绝,未写入任何数据。第一处:{first}。"
        "请修正,或使用 --skip-invalid 只导入正确的行并把被拒绝的行写入文件。"
    ),
    "error.more_rejections": "……另有 {count} 处",
    "error.campaign_not_found": "没有活动“{slug}”。已登记:{known}。用 `reactivate campaign add FILE` 添加。",
    "error.campaign_key": "{file}:键“{key}”:{problem}",
    "error.campaign_toml": "{file}:不是有效的 TOML:{problem}",
    "error.file_missing": "{file}:文件不存在",
    "error.file_format": "{file}:无法读取“{suffix}”类型的文件;请使用 .xlsx、.xls 或 .csv",
    "error.file_unreadable": "{file}:无法作为表格读取:{problem}",
    "error.sheet_missing": "{file}:没有名为“{sheet}”的工作表;现有:{sheets}",
    "error.no_data": "{file}:没有含数据的工作表",
    "error.no_header": (
        "{file},工作表 {sheet}:找不到含“{missing}”列的表头(查找了:{aliases});"
        "可用 --map '表头=字段' 指定"
    ),
    "error.no_header_csv": (
        "{file}:找不到含“{missing}”列的表头(查找了:{aliases});可用 --map '表头=字段' 指定"
    ),
    "error.bad_map": "--map '{spec}':应为 表头=字段,字段为 {fields} 之一",
    "error.db_url": "无法打开数据库 {url}:{problem}",
    "error.db_version": "数据库 {url} 的结构版本为 {found},本程序最高支持 {known}。请升级 reactivate。",
    "error.advisor_unknown": "花名册中没有工号为“{code}”的客户经理。",
    "error.stamp_damaged": (
        "{file}:标识所发名单的隐藏工作表“{sheet}”已损坏({problem});"
        "请上传原样下发的名单,或把已填写的行复制到新下发的名单中再上传。"
    ),
    "reject.no_id": "缺少客户号",
    "reject.bad_mobile": "手机号“{value}”不是以 1 开头的 11 位数字",
    "reject.bad_date": "“{value}”不是日期(应为 2020-01-05、2020/1/5、20200105 或 Excel 日期)",
    "reject.bad_number": "“{value}”不是数字",
    "reject.bad_risk": "“{value}”不是风险等级(C1-C5 或 保守型/谨慎型/稳健型/积极型/激进型)",
    "reject.bad_bool": "“{value}”不是 是/否",
    "reject.bad_int": "“{value}”不是整数",
    "reject.conflict": "客户 {client_id} 在第 {other} 行再次出现且 {fields} 不同",
    "reject.required": "缺少{field}",
    "reject.bad_status": "“{value}”不是 在职/离职",
}

_CATALOGS = {"en": _EN, "zh": _ZH}


def language() -> str:
    """The user's language: `REACTIVATE_LANG`, else `zh` when `LANG` is Chinese, else `en`."""
    chosen = os.environ.get("REACTIVATE_LANG", "").lower()
    if chosen in _CATALOGS:
        return chosen
    return "zh" if os.environ.get("LANG", "").lower().startswith("zh") else "en"


def t(key: str, /, **fields: object) -> str:
    """The text for `key` in the user's language, with `fields` filled in."""
    text = _CATALOGS[language()].get(key) or _EN[key]
    return text.format(**fields) if fields else text


def keys() -> dict[str, set[str]]:
    """The keys of each catalog (for the test that both languages are complete)."""
    return {lang: set(catalog) for lang, catalog in _CATALOGS.items()}
